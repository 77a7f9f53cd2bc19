"""hosts_due: the hosts a later play of site.yml still has work on.

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


class FilterModule:
    def filters(self) -> dict[str, object]:
        return {"hosts_due": hosts_due}
