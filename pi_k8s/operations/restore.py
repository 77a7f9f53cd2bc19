"""Restore a cluster's datastore from a backup: the job of `pi-k8s restore`.

Order: the cluster's state and the backup (its sha256, that it is this cluster's: its
cluster name and its token, whose secret must be the cluster's); then ``restore.yml``,
which follows k3s's procedure (docs.k3s.io/cli/etcd-snapshot, "Restoring Snapshots"):
stop k3s on every server, `k3s server --cluster-reset --cluster-reset-restore-path` on
the first server with the snapshot's token, start it, rejoin the other servers one at a
time with their server/db removed, restart the agents. Every refusal comes before any
host is touched.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pi_k8s import ansible_vars, clusters
from pi_k8s.errors import SpecError, UsageError
from pi_k8s.operations.backup import Backup, backups_dir, read_backup, sha256_of
from pi_k8s.operations.clusters import PlannedRun, remember_run, run_on_cluster
from pi_k8s.operations.hooks import Hooks

PLAYBOOK = "restore.yml"


@dataclass
class RestorePlan:
    cluster: str
    backup: Backup
    first_server: str
    other_servers: list[str]
    agents: list[str]
    notes: list[str] = field(default_factory=list)

    @property
    def steps(self) -> list[str]:
        others = ", ".join(self.other_servers)
        restore = (
            "k3s server --cluster-reset --cluster-reset-restore-path=<snapshot> (its token)"
            if self.backup.datastore == "etcd"
            else "server/db and the token put back from the archive"
        )
        steps = [
            f"stop k3s on {', '.join([self.first_server, *self.other_servers])}",
            f"{self.first_server}: {restore}",
            f"start k3s on {self.first_server}",
        ]
        if others:
            steps.append(f"one at a time, remove server/db and start k3s: {others}")
        if self.agents:
            steps.append(f"restart the agents: {', '.join(self.agents)}")
        return [*steps, "wait until every node is Ready"]

    def to_dict(self) -> dict[str, Any]:
        return {
            "cluster": self.cluster,
            "backup": self.backup.to_dict(),
            "first_server": self.first_server,
            "other_servers": self.other_servers,
            "agents": self.agents,
            "steps": self.steps,
            "notes": self.notes,
        }


RestoreResult = PlannedRun[RestorePlan]


def plan_restore(snapshot: str, *, cluster: str | None = None) -> RestorePlan:
    """The checks and the plan; UsageError or SpecError (nothing touched) on a refusal."""
    name = clusters.resolve(cluster)
    state = clusters.load(name)
    backup = read_backup(_backup_dir(name, snapshot))
    if backup.cluster != name:
        raise SpecError(
            f"Backup {backup.name} is of cluster {backup.cluster!r}, not {name!r}: refused.",
            hint=f"Restore it with --cluster {backup.cluster}, or pick one of "
            f"`pi-k8s backup list --cluster {name}`.",
        )
    if not backup.snapshot.is_file() or not backup.token_file.is_file():
        raise SpecError(
            f"Backup {backup.name} lacks its snapshot or its token ({backup.directory}).",
            hint="A snapshot cannot be restored without the token it was taken with.",
        )
    actual = sha256_of(backup.snapshot)
    if actual != backup.sha256:
        raise SpecError(
            f"Backup {backup.name}: the snapshot's sha256 is {actual}, backup.json says "
            f"{backup.sha256}. Refused; nothing was stopped.",
            hint="The file changed since the backup was taken: restore another backup.",
        )
    mine = clusters.cluster_dir(name) / "token"
    if mine.is_file() and _secret(mine) != _secret(backup.token_file):
        raise SpecError(
            f"Backup {backup.name} was taken with another cluster token than cluster "
            f"{name!r} runs with: it is another cluster's snapshot. Refused.",
            hint=f"Its token is in {backup.token_file}; restore backups of this cluster.",
        )
    if backup.datastore != state.datastore:
        raise SpecError(
            f"Backup {backup.name} holds a {backup.datastore} datastore; cluster {name!r} "
            f"runs {state.datastore}. Refused.",
            hint="Restore a backup taken since the datastore last changed.",
        )
    servers = [m.hostname for m in state.servers]
    return RestorePlan(
        cluster=name,
        backup=backup,
        first_server=servers[0],
        other_servers=servers[1:],
        agents=[m.hostname for m in state.agents],
    )


def run_restore(
    plan: RestorePlan, *, check: bool = False, verbose: bool = False, hooks: Hooks | None = None
) -> RestoreResult:
    """Run restore.yml for a plan; PlaybookFailed when it fails."""
    hooks = hooks or Hooks()
    hooks.on_nodes_plan(plan)
    if check:
        return RestoreResult(plan)
    inventory = Path(clusters.load(plan.cluster).inventory)
    loaded = ansible_vars.load(inventory)
    extra = {
        "restore_snapshot": str(plan.backup.snapshot.resolve()),
        "restore_token_file": str(plan.backup.token_file.resolve()),
        "restore_datastore": plan.backup.datastore,
        "restore_sha256": plan.backup.sha256,
    }
    result, started = run_on_cluster(
        PLAYBOOK,
        inventory,
        extra,
        title=f"restore ({plan.backup.name})",
        verbose=verbose,
        hooks=hooks,
    )
    written = remember_run("restore", inventory, loaded, {}, result, started=started)
    result.raise_for_status()
    return RestoreResult(plan, result, written)


def _backup_dir(cluster: str, snapshot: str) -> Path:
    """A backup's directory: its name under the cluster's backups/, or a path to it."""
    candidate = Path(snapshot) if "/" in snapshot else backups_dir(cluster) / snapshot
    if not snapshot.strip() or not candidate.is_dir():
        raise UsageError(
            f"No backup {snapshot!r} for cluster {cluster!r} ({candidate}).",
            hint=f"`pi-k8s backup list --cluster {cluster}` shows the backups.",
        )
    return candidate


def _secret(path: Path) -> str:
    """What k3s compares of a token (docs.k3s.io/cli/token): the part after
    `K10<ca hash>::<user>:`, or the whole short token."""
    token = path.read_text(encoding="utf-8").strip()
    if token.startswith("K10") and "::" in token:
        creds = token.split("::", 1)[1]
        return creds.split(":", 1)[1] if ":" in creds else creds
    return token
