"""Every public function, class and method in pi_k8s/ is used by pi_k8s/ itself.

Code that only tests call proves nothing about the product: its tests pass while the
product runs another path (a second discovery-file reader, an `ip neigh` text parser,
RunResult.failed_hosts, console.is_tty were all such code). Test and benchmark helpers
live under tests/. A name counts as used when pi_k8s/ refers to it in code (a name, an
attribute or an import), not when a docstring mentions it.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "pi_k8s"

# Public names pi_k8s/ does not call itself, each with the reason it stays.
NOT_CALLED_BY_THE_PACKAGE = {
    "build_inventory": "the Python API's documented one-call form (pi_k8s/inventory/plan.py)",
    "render_static_pod": "kube-vip's Pod, rendered and validated only (issue 15 §2): no role "
    "places it yet, and it cannot run on the testbed (tests/unit/test_kubevip.py)",
}


def _trees() -> dict[Path, ast.Module]:
    return {p: ast.parse(p.read_text(), str(p)) for p in sorted(PACKAGE.rglob("*.py"))}


def defined(trees: dict[Path, ast.Module]) -> dict[str, str]:
    """Public top-level functions and classes, and public methods: name → where."""
    found: dict[str, str] = {}
    kinds = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
    for path, tree in trees.items():
        for node in tree.body:
            members = node.body if isinstance(node, ast.ClassDef) else []
            for item in [node, *members]:
                if isinstance(item, kinds) and not item.name.startswith("_"):
                    found.setdefault(item.name, f"{path.relative_to(PACKAGE.parent)}:{item.lineno}")
    return found


def referenced(trees: dict[Path, ast.Module]) -> set[str]:
    """Names pi_k8s/ uses; a package's __init__ re-exporting a name is not a use of it."""
    names: set[str] = set()
    for path, tree in trees.items():
        for node in ast.walk(tree):
            if isinstance(node, ast.Name):
                names.add(node.id)
            elif isinstance(node, ast.Attribute):
                names.add(node.attr)
            elif isinstance(node, ast.ImportFrom) and path.name != "__init__.py":
                names.update(alias.name for alias in node.names)
    return names


def test_every_public_name_is_used_by_the_package() -> None:
    trees = _trees()
    used = referenced(trees) | set(NOT_CALLED_BY_THE_PACKAGE)
    unused = {name: where for name, where in defined(trees).items() if name not in used}
    assert not unused, (
        f"Defined in pi_k8s/ but never used there: {unused}. Remove it, or move test "
        "help under tests/."
    )


def test_the_exceptions_are_still_needed() -> None:
    trees = _trees()
    names = defined(trees)
    used = referenced(trees)
    stale = {n for n in NOT_CALLED_BY_THE_PACKAGE if n not in names or n in used}
    assert not stale, f"No longer defined, or now used by pi_k8s/: drop {stale} from the list."
