"""Back up a cluster's datastore to the controller: the job of `pi-k8s backup` and
`pi-k8s backup list`.

``backup.yml`` snapshots the datastore on the first server (embedded etcd: `k3s
etcd-snapshot save`; SQLite: an archive of server/db taken with k3s stopped) and fetches
it with the server token. Each backup is a directory of
``$PI_K8S_STATE_DIR/clusters/<name>/backups/``: the snapshot, ``token`` and
``backup.json`` (cluster, datastore, file, sha256, size, created), every file 0600, the
directories 0700. ``--keep N`` then removes the oldest backups beyond N.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from pi_k8s import ansible_vars, clusters, paths
from pi_k8s.clusters.record import now
from pi_k8s.errors import SpecError, UsageError
from pi_k8s.operations.clusters import remember_run, run_on_cluster, started_now
from pi_k8s.operations.hooks import Hooks
from pi_k8s.runner import RunResult

PLAYBOOK = "backup.yml"
BACKUPS = "backups"
META = "backup.json"
TOKEN = "token"
SNAPSHOT_NAME = "pi-k8s"  # k3s names the file <name>-<node>-<unix time>


@dataclass
class Backup:
    """One backup on the controller (the data of its backup.json)."""

    name: str  # the directory, = the snapshot's file name
    cluster: str
    datastore: str  # etcd or sqlite
    server: str  # the server it was taken on
    file: str  # the snapshot's file name in the directory
    sha256: str
    size: int
    created: str  # ISO 8601, UTC
    directory: Path = field(compare=False)

    @property
    def snapshot(self) -> Path:
        return self.directory / self.file

    @property
    def token_file(self) -> Path:
        return self.directory / TOKEN

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["directory"] = str(self.directory)
        return data


@dataclass
class BackupResult:
    cluster: str
    backup: Backup
    pruned: list[str]
    run: RunResult
    state: Path | None = None


def backups_dir(cluster: str) -> Path:
    return clusters.cluster_dir(cluster) / BACKUPS


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def read_backup(directory: Path) -> Backup:
    """A backup's backup.json; SpecError when it is missing or not pi-k8s's."""
    meta = directory / META
    try:
        data = json.loads(meta.read_text(encoding="utf-8"))
        return Backup(**{k: data[k] for k in _FIELDS}, directory=directory)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise SpecError(
            f"{directory} is not a pi-k8s backup ({meta}: {exc}).",
            hint="`pi-k8s backup list` shows the cluster's backups.",
        ) from exc


_FIELDS = ("name", "cluster", "datastore", "server", "file", "sha256", "size", "created")


def list_backups(cluster: str | None = None) -> tuple[str, list[Backup]]:
    """The cluster's name and its backups, oldest first (directories without a readable
    backup.json are left out)."""
    name = clusters.resolve(cluster)
    root = backups_dir(name)
    found = []
    for directory in sorted(root.iterdir()) if root.is_dir() else []:
        if directory.is_dir() and (directory / META).is_file():
            try:
                found.append(read_backup(directory))
            except SpecError:
                continue
    return name, sorted(found, key=lambda b: (b.created, b.name))


def run_backup(
    *,
    cluster: str | None = None,
    keep: int | None = None,
    verbose: bool = False,
    hooks: Hooks | None = None,
) -> BackupResult:
    """Snapshot the datastore and keep it under clusters/<name>/backups/. Raises
    UsageError before any host is touched; PlaybookFailed when the playbook fails (no
    backup is kept, nothing is pruned)."""
    hooks = hooks or Hooks()
    if keep is not None and keep < 1:
        raise UsageError(f"--keep {keep} must be at least 1.", hint="e.g. --keep 7")
    name = clusters.resolve(cluster)
    state = clusters.load(name)
    if not state.servers:
        raise UsageError(f"Cluster {name!r} has no server in cluster.json.")
    inventory = Path(state.inventory)
    if not inventory.is_file():
        raise UsageError(
            f"Cluster {name!r} was last run with {inventory}, which no longer exists.",
            hint="Bootstrap again to render it anew.",
        )
    loaded = ansible_vars.load(inventory)
    root = paths.ensure_private_dir(backups_dir(name))
    staging = paths.ensure_private_dir(root / f".incoming-{started_now().replace(':', '')}")
    extra = {"backup_dest": str(staging), "backup_name": SNAPSHOT_NAME}
    try:
        result, started = run_on_cluster(
            PLAYBOOK, inventory, extra, title=f"backup ({name})", verbose=verbose, hooks=hooks
        )
        if not result.ok:
            remember_run("backup", inventory, loaded, {}, result, started=started)
            result.raise_for_status()
        backup = _keep(staging, root, name, state.servers[0].hostname)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    pruned = prune(name, keep) if keep else []
    written = remember_run("backup", inventory, loaded, {}, result, started=started)
    return BackupResult(name, backup, pruned, result, written)


def _keep(staging: Path, root: Path, cluster: str, server: str) -> Backup:
    """Move the fetched snapshot and token into backups/<snapshot name>/ with backup.json."""
    files = [p for p in staging.iterdir() if p.is_file() and p.name != TOKEN]
    if len(files) != 1 or not (staging / TOKEN).is_file():
        raise SpecError(
            f"backup.yml left {', '.join(p.name for p in staging.iterdir()) or 'nothing'} "
            f"in {staging}, not one snapshot and the token.",
            hint="Run again with --verbose to see what the playbook fetched.",
        )
    snapshot = files[0]
    target = root / snapshot.name
    if target.exists():
        raise SpecError(f"A backup named {snapshot.name} exists already in {root}.")
    for path in (snapshot, staging / TOKEN):
        path.chmod(0o600)
    backup = Backup(
        name=snapshot.name,
        cluster=cluster,
        datastore="sqlite" if snapshot.name.endswith(".tar.gz") else "etcd",
        server=server,
        file=snapshot.name,
        sha256=sha256_of(snapshot),
        size=snapshot.stat().st_size,
        created=now(),
        directory=target,
    )
    meta = {k: v for k, v in backup.to_dict().items() if k != "directory"}
    paths.write_atomic(staging / META, json.dumps(meta, indent=2) + "\n", mode=0o600)
    staging.rename(target)
    target.chmod(0o700)
    return backup


def prune(cluster: str, keep: int) -> list[str]:
    """Remove the oldest backups beyond ``keep``; the names removed."""
    _, found = list_backups(cluster)
    gone = found[: max(0, len(found) - keep)]
    for backup in gone:
        shutil.rmtree(backup.directory)
    return [b.name for b in gone]
