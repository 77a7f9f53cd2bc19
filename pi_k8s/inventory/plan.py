"""Spec + hosts → InventoryPlan: selection, refusals, roles, checks, in that order."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from pi_k8s.inventory.build import inventory_data
from pi_k8s.inventory.checks import check_addresses, hardware_warnings
from pi_k8s.inventory.decisions import InventoryPlan
from pi_k8s.inventory.roles import choose_roles
from pi_k8s.inventory.selection import (
    match_lb_nodes,
    match_overrides,
    refuse_bad_hosts,
    refuse_missing_members,
    select_hosts,
)
from pi_k8s.models import PiHost
from pi_k8s.spec import ClusterSpec


def build_inventory(spec: ClusterSpec, hosts: Sequence[PiHost]) -> dict[str, Any]:
    """The Ansible YAML inventory for `spec` over the discovered `hosts`, as data."""
    return plan_inventory(spec, hosts).inventory


def plan_inventory(
    spec: ClusterSpec,
    hosts: Sequence[PiHost],
    members: Mapping[str, tuple[str, int]] | None = None,
) -> InventoryPlan:
    """Select hosts, choose roles, check addresses; raise SpecError on any refusal.

    ``members`` (hostname → role and order, from the cluster's state) keep both; a member
    missing from the selected hosts is refused, since dropping it would reshuffle roles.
    """
    warnings: list[str] = []
    selected, skipped = select_hosts(spec, hosts, warnings)
    refuse_bad_hosts(selected)
    refuse_missing_members(spec, selected, members or {})
    overrides = match_overrides(spec, hosts, selected, warnings)
    decisions = choose_roles(spec, selected, overrides, members, warnings)
    check_addresses(spec, [d.host for d in decisions])
    warnings.extend(hardware_warnings(spec, decisions))
    data = inventory_data(spec, decisions, overrides, match_lb_nodes(spec, selected))
    # The table order: servers (first = cluster-init), agents, then skipped hosts.
    ordered = (
        [d for d in decisions if d.role == "server"]
        + [d for d in decisions if d.role == "agent"]
        + skipped
    )
    return InventoryPlan(inventory=data, decisions=ordered, warnings=warnings)
