"""Rendered workloads vs the files on the servers: what a deploy does; the role's variables."""

from __future__ import annotations

import difflib
from typing import Any

from pi_k8s.workloads.model import (
    FILE_PREFIX,
    Rendered,
    WorkloadChange,
)
from pi_k8s.workloads.redact import hide_secrets


def playbook_vars(rendered: Rendered, *, prune: bool) -> dict[str, Any]:
    """The variables the k3s_workloads role gets, through a vars file in the run's dir.

    ``pi_k8s.deploy`` adds ``k3s_workloads_report_dir``, a directory in the run's dir.
    """
    return {
        "k3s_workloads_items": [{"name": w.name, "content": w.content} for w in rendered.workloads],
        "k3s_workloads_prune": prune,
    }


def _diff(before: str, after: str, fromfile: str, tofile: str) -> str:
    before, after = hide_secrets(before, after)
    return "".join(
        difflib.unified_diff(
            before.splitlines(keepends=True),
            after.splitlines(keepends=True),
            fromfile=fromfile,
            tofile=tofile,
        )
    )


def plan(
    rendered: Rendered, current: dict[str, dict[str, str]], *, prune: bool
) -> list[WorkloadChange]:
    """Compare rendered files with ``current`` ({host: {filename: content}} read on the servers).

    One entry per workload and per pi-k8s file on a server that the spec no longer has
    (``removed`` with --prune, ``stale`` without). Hosts are listed where the action applies.
    Diffs show Secrets' keys, never their values (``hide_secrets``).
    """
    changes: list[WorkloadChange] = []
    hosts = sorted(current)
    for w in rendered.workloads:
        added = [h for h in hosts if w.filename not in current[h]]
        changed = [
            h for h in hosts if w.filename in current[h] and current[h][w.filename] != w.content
        ]
        diff = ""
        first = (changed or added or [None])[0]
        if first is not None:
            before = current[first].get(w.filename, "")
            diff = _diff(
                before,
                w.content,
                f"{first}:{w.filename}" if before else "/dev/null",
                f"rendered:{w.filename}",
            )
        if changed:
            changes.append(WorkloadChange(w.name, w.filename, "changed", changed, diff))
        if added:
            changes.append(WorkloadChange(w.name, w.filename, "added", added, diff))
        if not changed and not added:
            changes.append(WorkloadChange(w.name, w.filename, "unchanged", hosts))
    wanted = {w.filename for w in rendered.workloads}
    extra: dict[str, list[str]] = {}
    for h in hosts:
        for filename in current[h]:
            if filename not in wanted:
                extra.setdefault(filename, []).append(h)
    for filename, on in sorted(extra.items()):
        name = filename.removeprefix(FILE_PREFIX).removesuffix(".yaml")
        before = current[on[0]][filename]
        diff = _diff(before, "", f"{on[0]}:{filename}", "/dev/null")
        changes.append(WorkloadChange(name, filename, "removed" if prune else "stale", on, diff))
    return changes
