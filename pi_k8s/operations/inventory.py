"""Render an Ansible inventory from a cluster spec and hosts: the job of `pi-k8s inventory`."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from pi_k8s import clusters
from pi_k8s.inventory import InventoryPlan, load_hosts, plan_inventory, write_inventory
from pi_k8s.models import PiHost
from pi_k8s.operations.hooks import Hooks
from pi_k8s.spec import ClusterSpec, load_spec


@dataclass
class RenderedInventory:
    """What `render_inventory` decided and wrote."""

    cluster: str  # the spec's cluster name
    plan: InventoryPlan
    path: Path


def cluster_name(spec: Path) -> str:
    """The name a cluster spec gives its cluster (validates the spec)."""
    return load_spec(spec).name


def members_of(name: str) -> dict[str, tuple[str, int]]:
    """hostname → (role, order) of the members pi-k8s remembers for cluster ``name``."""
    if not clusters.exists(name):
        return {}
    return {m.hostname: (m.role, m.order) for m in clusters.load(name).members}


def render_inventory(
    spec: Path,
    *,
    from_file: Path | None,
    discover: bool,
    subnets: Sequence[str],
    output: Path,
    hooks: Hooks | None = None,
) -> RenderedInventory:
    """Spec + hosts (from a file or discovered now) → roles, warnings, inventory file.
    A cluster pi-k8s remembers keeps its members' roles and order (pi_k8s.clusters).

    ``hooks.on_plan`` sees the roles and warnings before the file is written,
    ``hooks.info`` the file written; discovery's progress goes to ``hooks.step``.
    """
    hooks = hooks or Hooks()
    cluster = load_spec(spec)
    hosts = load_hosts(from_file) if from_file is not None else _discover(cluster, subnets, hooks)
    plan = plan_inventory(cluster, hosts, members_of(cluster.name))
    hooks.on_plan(cluster.name, plan)
    path = write_inventory(plan.inventory, output, source=spec.name, decisions=plan.decisions)
    hooks.info(f"Wrote {path} ({len(plan.servers)} server(s), {len(plan.agents)} agent(s)).")
    return RenderedInventory(cluster.name, plan, path)


def _discover(cluster: ClusterSpec, subnets: Sequence[str], hooks: Hooks) -> list[PiHost]:
    # Imported here: discovery pulls in asyncssh and zeroconf, which --from does not need.
    from pi_k8s.discovery import discover

    hooks.step("Discovering hosts" + (f" on {', '.join(subnets)}" if subnets else "") + " …")
    return list(
        discover(
            subnets=subnets or None,
            user=cluster.ssh.user,
            identity=cluster.ssh.identity,
            known_hosts=cluster.ssh.known_hosts,
            progress=hooks.step,
        )
    )
