"""How a bad spec or manifest is reported: a SpecError naming the file, document and field."""

from __future__ import annotations

from typing import Any

import yaml

from pi_k8s.errors import SpecError

SPEC_HINT = "Fix the spec; the format is described in examples/workloads.yaml."
MANIFEST_HINT = "Fix the manifest; nothing was deployed."


def _where(source: str, index: int | None, fld: str | None) -> str:
    parts = [source]
    if index is not None:
        parts.append(f"document {index}")
    if fld:
        parts.append(fld)
    return ": ".join(parts)


def problem_at(source: str, index: int | None, fld: str | None, msg: str, hint: str) -> SpecError:
    return SpecError(f"{_where(source, index, fld)}: {msg}", hint=hint or SPEC_HINT)


def path_text(path: list[Any] | tuple[Any, ...]) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def yaml_error(exc: yaml.YAMLError) -> str:
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None) or str(exc)
    if mark is not None:
        return f"{problem} (line {mark.line + 1}, column {mark.column + 1})"
    return str(problem)


def refuse_unknown_keys(
    source: str, at: str | None, data: dict[Any, Any], allowed: set[str]
) -> None:
    """A SpecError for the first key of ``data`` (sorted) not in ``allowed`` (field at.key)."""
    unknown = sorted(set(map(str, data)) - allowed)
    if unknown:
        raise problem_at(
            source,
            None,
            f"{at}.{unknown[0]}" if at else unknown[0],
            f"unknown key (allowed: {', '.join(sorted(allowed))})",
            SPEC_HINT,
        )
