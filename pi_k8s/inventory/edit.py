"""Change an existing inventory's membership: add hosts to a group, take hosts out, set
cluster variables. Used by `pi-k8s nodes add/remove`; the YAML layout is the one
`pi-k8s inventory` writes (all → k3s_cluster → server/agent), found by group name."""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml

from pi_k8s.errors import SpecError

CLUSTER_GROUP = "k3s_cluster"


def read_inventory(path: Path) -> dict[str, Any]:
    """The inventory file as data; SpecError when it is not a YAML inventory we can edit."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise SpecError(f"{path} cannot be read as YAML: {exc}") from exc
    if not isinstance(data, dict) or _find_group(data, CLUSTER_GROUP) is None:
        raise SpecError(
            f"{path} has no {CLUSTER_GROUP} group that pi-k8s can edit.",
            hint="pi-k8s edits the YAML layout `pi-k8s inventory` writes "
            "(all → k3s_cluster → server, agent).",
        )
    return data


def with_hosts(
    data: Mapping[str, Any], group: str, hosts: Mapping[str, Mapping[str, Any]]
) -> dict[str, Any]:
    """A copy of ``data`` with ``hosts`` (name → variables) appended to ``group``."""
    out = copy.deepcopy(dict(data))
    target = _group(out, group)
    members = target.setdefault("hosts", {}) or {}
    target["hosts"] = members
    for name, variables in hosts.items():
        members[name] = dict(variables)
    return out


def without_hosts(data: Mapping[str, Any], names: Sequence[str]) -> dict[str, Any]:
    """A copy of ``data`` with ``names`` taken out of every group."""
    out = copy.deepcopy(dict(data))
    for group in _groups(out):
        hosts = group.get("hosts") or {}
        for name in names:
            hosts.pop(name, None)
    return out


def with_cluster_vars(data: Mapping[str, Any], **variables: Any) -> dict[str, Any]:
    """A copy of ``data`` with ``variables`` set on the k3s_cluster group."""
    out = copy.deepcopy(dict(data))
    group = _group(out, CLUSTER_GROUP)
    group["vars"] = {**(group.get("vars") or {}), **variables}
    return out


def _group(data: dict[str, Any], name: str) -> dict[str, Any]:
    found = _find_group(data, name)
    if found is None:  # a cluster without agents yet: the group goes under k3s_cluster
        cluster = _find_group(data, CLUSTER_GROUP)
        assert cluster is not None  # read_inventory checked it
        children = cluster.setdefault("children", {}) or {}
        cluster["children"] = children
        found = children.setdefault(name, {}) or {}
        children[name] = found
    return found


def _find_group(groups: Any, name: str) -> dict[str, Any] | None:
    """The group ``name`` among ``groups`` (group name → group) and their children."""
    if not isinstance(groups, dict):
        return None
    for key, group in list(groups.items()):
        if key == name:
            if group is None:
                groups[key] = group = {}
            return group if isinstance(group, dict) else None
        if isinstance(group, dict):
            found = _find_group(group.get("children"), name)
            if found is not None:
                return found
    return None


def _groups(groups: Any) -> list[dict[str, Any]]:
    """Every group of the tree under ``groups`` (group name → group)."""
    out: list[dict[str, Any]] = []
    if isinstance(groups, dict):
        for group in groups.values():
            if isinstance(group, dict):
                out.append(group)
                out.extend(_groups(group.get("children")))
    return out
