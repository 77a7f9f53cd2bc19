"""The shape of pi_k8s/, read from the source with ast (issue 12).

- cli/ reaches the domain only through pi_k8s.operations (cli/testbed.py also through
  pi_k8s.testbed, the testbed being an operation of its own), and otherwise imports only
  pi_k8s.console, pi_k8s.errors, pi_k8s.paths, its own helpers and the package's version.
- No module uses a private name (``_x``) of another pi_k8s module: neither
  ``from m import _x`` nor ``m._x`` on a pi_k8s module it imported.
- No file in pi_k8s/ is longer than 500 lines, unless its module docstring says it is a
  data table.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PKG = Path(__file__).resolve().parents[2] / "pi_k8s"
MAX_LINES = 500
CLI_ALLOWED = ("pi_k8s.operations", "pi_k8s.console", "pi_k8s.errors", "pi_k8s.paths", "pi_k8s.cli")
CLI_EXTRA = {"testbed.py": ("pi_k8s.testbed",)}

SOURCES = sorted(PKG.rglob("*.py"))
CLI_SOURCES = sorted((PKG / "cli").glob("*.py"))


def _rel(path: Path) -> str:
    return str(path.relative_to(PKG.parent))


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PKG.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _is_module(dotted: str) -> bool:
    """Whether ``pi_k8s.x.y`` names a module or package of pi_k8s."""
    path = PKG.parent.joinpath(*dotted.split("."))
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


def _from_base(node: ast.ImportFrom, path: Path) -> str:
    """The absolute module a ``from … import`` reads, relative imports resolved."""
    if not node.level:
        return node.module or ""
    package = _module_name(path).split(".")
    if path.name != "__init__.py":
        package = package[:-1]
    base = package[: len(package) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def pi_k8s_imports(path: Path) -> list[tuple[int, str]]:
    """(line, module) of every pi_k8s module a file imports, at any depth in the file.

    ``from pi_k8s import console`` imports pi_k8s.console; ``from pi_k8s import
    __version__`` imports pi_k8s itself.
    """
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names if a.name.split(".")[0] == "pi_k8s"]
        elif isinstance(node, ast.ImportFrom):
            base = _from_base(node, path)
            if base.split(".")[0] != "pi_k8s":
                continue
            for alias in node.names:
                sub = f"{base}.{alias.name}"
                found.append((node.lineno, sub if _is_module(sub) else base))
    return found


def private_uses(path: Path) -> list[str]:
    """``from m import _x`` and ``alias._x`` where m / alias is another pi_k8s module."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    me = _module_name(path)
    aliases: dict[str, str] = {}  # local name → the pi_k8s module it is bound to
    found: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                if a.name.split(".")[0] == "pi_k8s":  # `import pi_k8s.x` binds pi_k8s
                    aliases[a.asname or "pi_k8s"] = a.name if a.asname else "pi_k8s"
        elif isinstance(node, ast.ImportFrom):
            base = _from_base(node, path)
            if base.split(".")[0] != "pi_k8s" or base == me:
                continue
            for a in node.names:
                if _private(a.name):
                    found.append(f"line {node.lineno}: from {base} import {a.name}")
                elif _is_module(f"{base}.{a.name}"):
                    aliases[a.asname or a.name] = f"{base}.{a.name}"
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and node.value.id in aliases
            and aliases[node.value.id] != me
            and _private(node.attr)
        ):
            found.append(f"line {node.lineno}: {node.value.id}.{node.attr}")
    return found


def _private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__")


def _says_data_table(path: Path) -> bool:
    doc = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8"))) or ""
    return "data table" in doc.lower()


@pytest.mark.parametrize("path", CLI_SOURCES, ids=_rel)
def test_cli_reaches_the_domain_only_through_operations(path: Path) -> None:
    allowed = ("pi_k8s", *CLI_ALLOWED, *CLI_EXTRA.get(path.name, ()))
    wrong = [
        f"line {line}: {module}"
        for line, module in pi_k8s_imports(path)
        if not any(module == a or (a != "pi_k8s" and module.startswith(a + ".")) for a in allowed)
    ]
    assert wrong == [], f"{_rel(path)} imports past pi_k8s.operations: {wrong}"


@pytest.mark.parametrize("path", SOURCES, ids=_rel)
def test_no_module_uses_a_private_name_of_another(path: Path) -> None:
    assert private_uses(path) == []


@pytest.mark.parametrize("path", SOURCES, ids=_rel)
def test_no_file_is_over_500_lines_unless_a_data_table(path: Path) -> None:
    lines = len(path.read_text(encoding="utf-8").splitlines())
    assert lines <= MAX_LINES or _says_data_table(path), (
        f"{_rel(path)} has {lines} lines (at most {MAX_LINES}, unless its docstring says it "
        "is a data table)"
    )


def test_the_rules_see_what_they_forbid(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The readers above find a domain import, a private import and a private attribute."""
    fake = tmp_path / "pi_k8s"
    (fake / "cli").mkdir(parents=True)
    for name in ("__init__.py", "console.py", "runner.py", "cli/__init__.py"):
        (fake / name).write_text("")
    bad = fake / "cli" / "bad.py"
    bad.write_text(
        "from pi_k8s import console, runner\n"
        "from pi_k8s.runner import _rotate\n"
        "def f():\n"
        "    import pi_k8s.runner as r\n"
        "    return r._message, console._STYLE\n"
    )
    monkeypatch.setattr(f"{__name__}.PKG", fake)
    assert pi_k8s_imports(bad) == [
        (1, "pi_k8s.console"),
        (1, "pi_k8s.runner"),
        (2, "pi_k8s.runner"),
        (4, "pi_k8s.runner"),
    ]
    assert sorted(private_uses(bad)) == [
        "line 2: from pi_k8s.runner import _rotate",
        "line 5: console._STYLE",
        "line 5: r._message",
    ]
