"""argument_spec: a role's argument spec options, for an explicit validate_argument_spec task.

A playbook's first play checks the variables of several roles on each host. One
``ansible.builtin.validate_argument_spec`` task with their options combined does that in one
task per host instead of one per role (docs/performance.md, round sixteen)::

    argument_spec: >-
      {{ role_path | pik8s.cluster.argument_spec('main')
         | combine((role_path | dirname ~ '/pi_prereq')
                   | pik8s.cluster.argument_spec('validate')) }}

The file is parsed with PyYAML's C loader (a plain read, no origin tags: the spec is only
data for the validator) and kept per process while it is unchanged; each call returns its
own copy, which the validator may change.
"""

from __future__ import annotations

import copy
import os
from pathlib import Path
from typing import Any

import yaml
from ansible.errors import AnsibleFilterError

_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_PARSED: dict[str, tuple[int, dict[str, Any]]] = {}


def _specs(path: Path) -> dict[str, Any]:
    try:
        stamp = os.stat(path).st_mtime_ns
        kept = _PARSED.get(str(path))
        if kept is not None and kept[0] == stamp:
            return kept[1]
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=_LOADER)
    except (OSError, yaml.YAMLError) as exc:
        raise AnsibleFilterError(f"argument_spec: cannot read {path}: {exc}") from exc
    specs = data.get("argument_specs") if isinstance(data, dict) else None
    if not isinstance(specs, dict):
        raise AnsibleFilterError(f"argument_spec: {path} has no argument_specs mapping")
    _PARSED[str(path)] = (stamp, specs)
    return specs


def argument_spec(role_dir: str, entry: str = "main") -> dict[str, Any]:
    """The ``options`` of entry point ``entry`` in ``<role_dir>/meta/argument_specs.yml``."""
    path = Path(str(role_dir)) / "meta" / "argument_specs.yml"
    specs = _specs(path)
    if entry not in specs:
        known = ", ".join(sorted(specs))
        raise AnsibleFilterError(
            f"argument_spec: {path} has no entry point {entry!r} (it has: {known})"
        )
    return copy.deepcopy((specs[entry] or {}).get("options") or {})


class FilterModule:
    def filters(self) -> dict[str, object]:
        return {"argument_spec": argument_spec}
