"""A manifests: entry → the Kubernetes documents of its files (Jinja2 for *.j2)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jinja2
import yaml

from pi_k8s.errors import SpecError
from pi_k8s.workloads.problems import MANIFEST_HINT, SPEC_HINT, problem_at, yaml_error

_MANIFEST_SUFFIXES = (".yaml", ".yml", ".yaml.j2", ".yml.j2", ".j2")


def _manifest_files(source: str, at: str, entries: Any, base: Path) -> list[Path]:
    if isinstance(entries, str):
        entries = [entries]
    if not isinstance(entries, list) or not entries:
        raise problem_at(source, None, at, "must be a path or a non-empty list of paths", SPEC_HINT)
    files: list[Path] = []
    for j, entry in enumerate(entries):
        if not isinstance(entry, str) or not entry:
            raise problem_at(source, None, f"{at}[{j}]", "must be a path", SPEC_HINT)
        path = (base / entry) if not Path(entry).is_absolute() else Path(entry)
        if path.is_dir():
            found = sorted(
                p for p in path.iterdir() if p.is_file() and p.name.endswith(_MANIFEST_SUFFIXES)
            )
            if not found:
                raise problem_at(
                    source,
                    None,
                    f"{at}[{j}]",
                    f"directory {entry} holds no *.yaml, *.yml or *.j2 file",
                    SPEC_HINT,
                )
            files.extend(found)
        elif path.is_file():
            files.append(path)
        else:
            raise problem_at(
                source, None, f"{at}[{j}]", f"{entry} does not exist (relative to the spec)", ""
            )
    return files


def load_manifests(
    source: str, at: str, entries: Any, base: Path, context: dict[str, Any]
) -> tuple[list[tuple[str, int, dict[str, Any]]], list[str]]:
    docs: list[tuple[str, int, dict[str, Any]]] = []
    sources: list[str] = []
    for path in _manifest_files(source, at, entries, base):
        sources.append(_shown(path, base))
        # Errors name the file as the user can open it: relative to where the spec was given.
        shown = _shown(path, Path.cwd())
        text = path.read_text(encoding="utf-8")
        if path.suffix == ".j2":
            text = _render_template(shown, text, context)
        try:
            loaded = list(yaml.safe_load_all(text))
        except yaml.YAMLError as exc:
            raise problem_at(
                shown, None, None, f"not valid YAML: {yaml_error(exc)}", MANIFEST_HINT
            ) from None
        count = 0
        for index, doc in enumerate(loaded):
            if doc is None:  # an empty document between two '---'
                continue
            count += 1
            if not isinstance(doc, dict):
                raise problem_at(
                    shown,
                    index,
                    None,
                    "must be a Kubernetes object (a mapping), not "
                    f"{type(doc).__name__} {str(doc)[:40]!r}",
                    MANIFEST_HINT,
                )
            if doc.get("kind") == "List" and isinstance(doc.get("items"), list):
                raise problem_at(
                    shown, index, "kind", "List is not supported; write one object per document", ""
                )
            docs.append((shown, index, doc))
        if count == 0:
            raise problem_at(shown, None, None, "holds no Kubernetes object", MANIFEST_HINT)
    return docs, sources


def _shown(path: Path, base: Path) -> str:
    try:
        return str(path.resolve().relative_to(base.resolve()))
    except ValueError:
        return str(path)


def _render_template(shown: str, text: str, context: dict[str, Any]) -> str:
    env = jinja2.Environment(
        undefined=jinja2.StrictUndefined, keep_trailing_newline=True, autoescape=False
    )
    try:
        return env.from_string(text).render(**context)
    except jinja2.TemplateSyntaxError as exc:
        raise problem_at(
            shown, None, None, f"template syntax error on line {exc.lineno}: {exc.message}", ""
        ) from None
    except jinja2.UndefinedError as exc:
        raise SpecError(
            f"{shown}: template uses an undefined variable: {exc.message}",
            hint="Define it under vars: in the spec, with --var NAME=VALUE, or in the "
            "inventory as a cluster_* variable.",
        ) from None
