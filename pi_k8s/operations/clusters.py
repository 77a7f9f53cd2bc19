"""The clusters pi-k8s remembers: `pi-k8s clusters`, which inventory a command acts on,
and what each run leaves in the cluster's state (pi_k8s.clusters)."""

from __future__ import annotations

import shutil
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Generic, TypeVar

from pi_k8s import ansible_vars, clusters, runner
from pi_k8s.ansible_vars import AnsibleInventory
from pi_k8s.clusters.record import inventory_cluster_name, now
from pi_k8s.errors import UsageError
from pi_k8s.fast import fast_strategy as fast_strategy  # pi_k8s.operations's
from pi_k8s.operations.hooks import Hooks
from pi_k8s.runner import RunResult
from pi_k8s.runner import become_password as become_password  # pi_k8s.operations's

# Where commands look when neither --cluster nor --inventory is given and pi-k8s
# remembers no cluster (a hand-written inventory in the usual place).
DEFAULT_INVENTORY = Path("inventory/hosts.yml")
# The commands that install a k3s release; every other run keeps cluster.json's.
INSTALLS_RELEASE = ("bootstrap", "upgrade")
# The copy of a hand-written inventory kept with the cluster's state (a rendered one
# already lives there as hosts.yml).
INVENTORY_COPY = "inventory.yml"


PlanT = TypeVar("PlanT")


@dataclass
class PlannedRun(Generic[PlanT]):
    """What a day-2 command returns: its plan, the playbook run (None with --check) and
    the cluster.json it wrote."""

    plan: PlanT
    run: RunResult | None = None
    state: Path | None = None


@dataclass
class ClusterSummary:
    """One line of `pi-k8s clusters`."""

    name: str
    api_endpoint: str
    k3s_version: str | None
    k3s_channel: str | None
    servers: int
    agents: int
    inventory: str
    last_run: dict[str, Any] | None  # the newest of cluster.json's runs

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def list_clusters() -> list[ClusterSummary]:
    """Every cluster with a cluster.json in the state dir, by name."""
    out = []
    for name in clusters.known():
        state = clusters.load(name)
        out.append(
            ClusterSummary(
                name=state.name,
                api_endpoint=state.api_endpoint,
                k3s_version=state.k3s.version,
                k3s_channel=state.k3s.channel,
                servers=len(state.servers),
                agents=len(state.agents),
                inventory=state.inventory,
                last_run=state.runs[-1].__dict__ if state.runs else None,
            )
        )
    return out


def target_inventory(cluster: str | None, inventory: Path | None) -> Path:
    """The inventory a command acts on: ``--inventory``, else ``--cluster``'s, else the
    only cluster pi-k8s remembers, else inventory/hosts.yml."""
    if cluster and inventory is not None:
        raise UsageError(
            "--cluster and --inventory exclude each other.",
            hint="Name a cluster pi-k8s remembers with --cluster, or pass an inventory file.",
        )
    if inventory is not None:
        return inventory
    if cluster or len(clusters.known()) > 1:
        return clusters.inventory_of(clusters.resolve(cluster))
    if clusters.known():
        return clusters.inventory_of(clusters.known()[0])
    return DEFAULT_INVENTORY


def previous_state(inv: AnsibleInventory) -> clusters.ClusterState | None:
    """The remembered state of the inventory's cluster, if pi-k8s has one."""
    name = inventory_cluster_name(inv)
    return clusters.load(name) if clusters.exists(name) else None


def remember_run(
    command: str,
    inventory: Path,
    inv: AnsibleInventory,
    extravars: Mapping[str, Any],
    result: RunResult,
    *,
    started: str,
) -> Path | None:
    """After a run: a successful one updates the members and the release and keeps a copy
    of the inventory; a failed one only adds its line to the runs of a known cluster.
    Returns the cluster.json written (None when there was nothing to record)."""
    previous = previous_state(inv)
    stats = (
        f"ok={sum(h.ok for h in result.hosts.values())} changed={result.changed_total} "
        f"failed={sum(h.failed for h in result.hosts.values())} "
        f"unreachable={len(result.unreachable_hosts)}"
    )
    run = clusters.Run(command=command, started=started, ok=result.ok, summary=stats)
    if not result.ok:
        if previous is None:
            return None
        previous.add_run(run)
        return clusters.save(previous)
    release = clusters.release_of(inv, extravars)
    resolved = result.reported.get("k3s_install_wanted_version")
    if release.version is None and resolved:  # a channel: keep the release it resolved to
        release = replace(release, version=resolved)
    if previous is not None and command not in INSTALLS_RELEASE:
        # The inventory need not name the release (bootstrap's flags did): keep the record.
        release = previous.k3s
    state = clusters.update_state(previous, inv, inventory, release=release, run=run)
    directory = clusters.cluster_dir(state.name)
    written = clusters.save(state)
    if inventory.resolve().parent != directory.resolve():
        copy = directory / INVENTORY_COPY
        shutil.copyfile(inventory, copy)
        copy.chmod(0o600)
    return written


def started_now() -> str:
    """The timestamp a run records as its start."""
    return now()


def run_on_cluster(
    playbook: str,
    inventory: Path,
    extravars: dict[str, Any],
    *,
    title: str,
    verbose: bool,
    hooks: Hooks,
    limit: str | None = None,
    check: bool = False,
) -> tuple[RunResult, str]:
    """Run a cluster's playbook with the hooks' live progress: (the run, when it started,
    for ``remember_run``). The caller checks the status."""
    started = started_now()
    with hooks.playbook(title) as on_event:
        result = runner.run_playbook(
            playbook,
            inventory=inventory,
            extravars=extravars,
            limit=limit,
            check=check,
            on_event=on_event,
            verbosity=1 if verbose else 0,
        )
    hooks.on_run(result)
    return result, started


def open_cluster(cluster: str | None) -> tuple[clusters.ClusterState, Path, AnsibleInventory]:
    """A remembered cluster (``--cluster``, else the only one): its state, the inventory
    its last run used, and that inventory as Ansible reads it."""
    state = clusters.load(clusters.resolve(cluster))
    inventory = Path(state.inventory)
    return state, inventory, ansible_vars.load(inventory)
