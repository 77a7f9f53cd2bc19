"""hosts_due: the hosts a later play of site.yml still has work on; registered_nodes: the
k3s node each host registered as, where its note says it needs no work.

site.yml's first play reads every host and notes, per role, whether anything is to
change there (a fact such as ``_pi_prereq_nothing_due``). A later play's ``hosts:`` passes
its group through this filter with those facts' names: the hosts where each is true drop
out, so a no-op run leaves the play without hosts and Ansible skips it whole, instead of
running its tasks on every host only to end each role early. A host without the fact (its
note was never taken) stays in: it is never skipped on a guess.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

_TRUE = {"true", "yes", "on", "1"}


def _noted(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    return str(value).strip().lower() in _TRUE


def hosts_due(hosts: Iterable[str], hostvars: Mapping[str, Any], *nothing_due: str) -> list[str]:
    """``hosts`` without those where every ``nothing_due`` fact named is true, in the same order."""
    due = []
    for host in hosts or []:
        facts = hostvars.get(host) if host in hostvars else None
        if facts is None or not all(name in facts and _noted(facts[name]) for name in nothing_due):
            due.append(host)
    return due


def registered_nodes(hosts: Iterable[str], hostvars: Mapping[str, Any]) -> dict[str, str]:
    """``{host: node name}`` for the hosts of ``hosts`` that registered a k3s node, in order.

    A host records its node name (``k3s_install_registered_as``) where k3s_install
    installed or started k3s in this run, or found nothing to change there. An agent with
    nothing to change never reaches those tasks: the first play's note says so
    (``_k3s_install_nothing_due``, roles/k3s_install/tasks/gate.yml) and keeps its node name
    (``_k3s_install_node_name``) in the same task, instead of a task of its own on each
    agent (docs/performance.md, round sixteen). A host with neither (it failed or was left
    out earlier) is not listed: nothing waits for a node it never registered.
    """
    nodes = {}
    for host in hosts or []:
        facts = hostvars.get(host) if host in hostvars else None
        if facts is None:
            continue
        if "k3s_install_registered_as" in facts:
            nodes[host] = str(facts["k3s_install_registered_as"])
        elif (
            "_k3s_install_node_name" in facts
            and "_k3s_install_nothing_due" in facts
            and _noted(facts["_k3s_install_nothing_due"])
        ):
            nodes[host] = str(facts["_k3s_install_node_name"])
    return nodes


class FilterModule:
    def filters(self) -> dict[str, object]:
        return {"hosts_due": hosts_due, "registered_nodes": registered_nodes}
