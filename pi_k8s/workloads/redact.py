"""Secret values hidden from the diffs `deploy --check` shows."""

from __future__ import annotations

import itertools
from typing import Any

import yaml

from pi_k8s.workloads.dump import Dumper

# What `deploy --check` shows instead of a Secret's values: which keys are added, changed
# or removed stays visible, the values never are.
SECRET_HIDDEN = "(hidden)"
SECRET_OLD = "(hidden, old value)"
SECRET_NEW = "(hidden, new value)"
_SECRET_FIELDS = ("data", "stringData")
_UNREADABLE = "# (not valid YAML; not shown, as it may hold a Secret)\n"


def _is_secret(doc: Any) -> bool:
    return isinstance(doc, dict) and doc.get("kind") == "Secret"


def _secret_id(doc: dict[str, Any]) -> tuple[str, str]:
    meta = doc.get("metadata")
    meta = meta if isinstance(meta, dict) else {}
    return str(meta.get("namespace") or ""), str(meta.get("name") or "")


def _hide_values(doc: dict[str, Any], other: dict[str, Any] | None, changed: str) -> dict[str, Any]:
    """``doc`` with its data/stringData values replaced: ``changed`` where ``other`` differs."""
    out = dict(doc)
    for fld in _SECRET_FIELDS:
        if fld not in doc:
            continue
        values = doc[fld]
        theirs = other.get(fld) if other is not None else None
        if not isinstance(values, dict):
            out[fld] = SECRET_HIDDEN
            continue
        out[fld] = {
            key: changed
            if isinstance(theirs, dict) and key in theirs and theirs[key] != value
            else SECRET_HIDDEN
            for key, value in values.items()
        }
    return out


def hide_secrets(before: str, after: str) -> tuple[str, str]:
    """Two versions of a pi-k8s file, as a diff may show them: Secret values replaced.

    Files without a Secret come back unchanged. Otherwise both are dumped again the way
    pi-k8s renders (so only the values differ from the files), each Secret value replaced
    by ``SECRET_HIDDEN``, or by ``SECRET_OLD``/``SECRET_NEW`` where the same Secret's key
    has another value on the other side. A side that is not valid YAML is not shown.
    """
    docs: list[list[Any] | None] = []
    for text in (before, after):
        try:
            docs.append(list(yaml.safe_load_all(text)))
        except yaml.YAMLError:
            docs.append(None)
    old, new = docs
    if old is not None and new is not None and not any(map(_is_secret, old + new)):
        return before, after
    old_secrets = {_secret_id(d): d for d in old or [] if _is_secret(d)}
    new_secrets = {_secret_id(d): d for d in new or [] if _is_secret(d)}

    def shown(text: str, side: list[Any] | None, others: dict[Any, Any], changed: str) -> str:
        if side is None:
            return _UNREADABLE
        if not side:
            return text
        hidden = [
            _hide_values(d, others.get(_secret_id(d)), changed) if _is_secret(d) else d
            for d in side
        ]
        lines = text.splitlines(keepends=True)
        header = "".join(itertools.takewhile(lambda line: line.startswith("#"), lines))
        return header + yaml.dump_all(hidden, Dumper=Dumper, sort_keys=False, explicit_start=True)

    return (
        shown(before, old, new_secrets, SECRET_OLD),
        shown(after, new, old_secrets, SECRET_NEW),
    )
