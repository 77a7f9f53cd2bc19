"""Which hosts verify checks, and what it expects of them, from the Ansible inventory."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pi_k8s import ansible_vars
from pi_k8s.errors import SpecError
from pi_k8s.lb import check_inventory as check_lb
from pi_k8s.verify.model import HostTarget
from pi_k8s.vip import check_inventory as check_vip


def load_targets(inventory: Path) -> tuple[list[HostTarget], dict[str, Any]]:
    """Hosts of the ``server`` and ``agent`` groups, plus the cluster's group vars.

    SpecError (exit 3) when the inventory is missing, has no server, or sets an API VIP
    or an LB pool that cannot work, as bootstrap refuses them.
    """
    loaded = ansible_vars.load(inventory)
    check_lb(inventory, loaded.hostvars, check_vip(inventory, loaded.hostvars))
    servers = loaded.groups.get("server", [])
    agents = loaded.groups.get("agent", [])
    if not servers:
        raise SpecError(
            f"{inventory}: no hosts in group 'server'.",
            hint="A k3s inventory needs a 'server' group (and optionally 'agent').",
        )
    ha = len(servers) > 1
    targets = [HostTarget(h, "server", ha=ha) for h in servers]
    targets += [HostTarget(h, "agent") for h in agents if h not in servers]
    variables = loaded.hostvars[servers[0]]
    for t in targets:
        hv = loaded.hostvars[t.name]
        pi = hv.get("pi_prereq_is_raspberry_pi")
        t.is_pi = bool(pi) if pi is not None else None
        t.python = python_of(hv)
    return targets, variables


def python_of(hostvars: dict[str, Any]) -> str:
    """The host's ``ansible_python_interpreter`` when the inventory names one, else
    ``python3`` (Ansible's ``auto`` discovery and templated values are not resolved)."""
    given = str(hostvars.get("ansible_python_interpreter") or "")
    if not given or given.startswith("auto") or "{" in given:
        return "python3"
    return given
