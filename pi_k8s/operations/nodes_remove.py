"""Retire nodes from a cluster pi-k8s remembers: the job of `pi-k8s nodes remove`.

Order: the cluster's state and the names (members, not the first server); the quorum
rules (never the last server; never an even number of etcd members unless --force);
then ``nodes_remove.yml`` (cordon, drain, stop k3s, delete the Node, wait until its etcd
member is gone, uninstall k3s and revert the host); then the inventory and cluster.json
without the nodes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pi_k8s import ansible_vars, clusters
from pi_k8s.errors import UsageError
from pi_k8s.inventory import write_inventory
from pi_k8s.inventory.edit import read_inventory, with_cluster_vars, without_hosts
from pi_k8s.operations.clusters import PlannedRun, remember_run, run_on_cluster
from pi_k8s.operations.hooks import Hooks

PLAYBOOK = "nodes_remove.yml"


@dataclass(frozen=True)
class Removal:
    """How nodes leave: ``force`` allows an even server count and drains pods no
    controller manages; ``unreachable`` only deletes the Node and its etcd member;
    ``timeout`` is drain's, in seconds."""

    force: bool = False
    unreachable: bool = False
    timeout: int = 300


@dataclass
class RemovePlan:
    cluster: str
    nodes: list[clusters.Member]
    servers_before: int
    servers_after: int
    unreachable: bool  # only the Node and its etcd member go; the hosts are not touched
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "cluster": self.cluster,
            "nodes": [{"hostname": m.hostname, "role": m.role} for m in self.nodes],
            "servers_before": self.servers_before,
            "servers_after": self.servers_after,
            "unreachable": self.unreachable,
            "notes": self.notes,
        }


RemoveResult = PlannedRun[RemovePlan]


def remove_nodes(
    names: Sequence[str],
    how: Removal = Removal(),
    *,
    cluster: str | None = None,
    check: bool = False,
    verbose: bool = False,
    hooks: Hooks | None = None,
) -> RemoveResult:
    """Remove members. Raises UsageError before any host is touched; PlaybookFailed when
    the playbook fails (the nodes stay members in cluster.json and the inventory)."""
    hooks = hooks or Hooks()
    if not names:
        raise UsageError(
            "Name the nodes to remove.", hint="e.g. pi-k8s nodes remove rpi-3 (see pi-k8s status)."
        )
    if how.timeout < 1:
        raise UsageError(
            f"--timeout {how.timeout} must be at least 1 second.", hint="e.g. --timeout 300"
        )
    name = clusters.resolve(cluster)
    state = clusters.load(name)
    plan = _plan(state, list(dict.fromkeys(names)), force=how.force, unreachable=how.unreachable)
    hooks.on_nodes_plan(plan)
    for note in plan.notes:
        hooks.warn(note)
    if check:
        return RemoveResult(plan)
    inventory = Path(state.inventory)
    loaded = ansible_vars.load(inventory)
    extra: dict[str, Any] = {
        "nodes_remove_hosts": ",".join(m.hostname for m in plan.nodes),
        "nodes_remove_unreachable": how.unreachable,
        "nodes_remove_timeout": how.timeout,
        "nodes_remove_force": how.force,
    }
    title = f"nodes remove ({', '.join(m.hostname for m in plan.nodes)})"
    result, started = run_on_cluster(
        PLAYBOOK, inventory, extra, title=title, verbose=verbose, hooks=hooks
    )
    if not result.ok:
        remember_run("nodes remove", inventory, loaded, {}, result, started=started)
        result.raise_for_status()
    data = without_hosts(read_inventory(inventory), [m.hostname for m in plan.nodes])
    if plan.servers_after % 2 == 0:
        data = with_cluster_vars(data, k3s_server_allow_even=True)
    target = clusters.cluster_dir(name) / "hosts.yml"
    write_inventory(data, target, source=f"pi-k8s nodes remove ({name})")
    loaded = ansible_vars.load(target)
    written = remember_run("nodes remove", target, loaded, {}, result, started=started)
    return RemoveResult(plan, result, written)


def _plan(
    state: clusters.ClusterState, names: list[str], *, force: bool, unreachable: bool
) -> RemovePlan:
    unknown = [n for n in names if state.member(n) is None]
    if unknown:
        raise UsageError(
            f"{', '.join(unknown)}: not a member of cluster {state.name!r}.",
            hint=f"Its members: {', '.join(m.hostname for m in state.members)}.",
        )
    nodes = [state.member(n) for n in names]
    first = state.servers[0].hostname if state.servers else None
    if first in names:
        raise UsageError(
            f"{first} is the first server of cluster {state.name!r}: the other nodes join "
            "through it and the API endpoint is its address.",
            hint="Remove the other nodes, or start over with `pi-k8s reset`.",
        )
    before = len(state.servers)
    after = before - sum(1 for m in nodes if m and m.role == "server")
    notes = []
    if after < 1:
        raise UsageError(
            "That would remove the last server.", hint="Use `pi-k8s reset` to remove the cluster."
        )
    if after != before and after % 2 == 0:
        if not force:
            raise UsageError(
                f"Removing leaves {after} servers: etcd needs a majority (quorum), and an even "
                f"number of members tolerates no more failures than {after - 1}.",
                hint="Remove one more server, or pass --force to keep an even number.",
            )
        notes.append(f"{after} servers (even): accepted with --force.")
    if unreachable:
        notes.append(
            "--unreachable: the hosts are not touched; k3s and pi-k8s's changes stay on them "
            "until they are reset."
        )
    return RemovePlan(
        cluster=state.name,
        nodes=[m for m in nodes if m is not None],
        servers_before=before,
        servers_after=after,
        unreachable=unreachable,
        notes=notes,
    )
