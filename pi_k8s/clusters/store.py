"""Where each cluster's state lives on the controller, read and written atomically.

``$PI_K8S_STATE_DIR/clusters/<name>/`` holds ``cluster.json`` (pi_k8s.clusters.model),
the inventory of the last run (``hosts.yml``, when pi-k8s rendered it) and the cluster
token (``token``, 0600, written by the k3s_install role). Every file is 0600, the
directory 0700.
"""

from __future__ import annotations

import json
from pathlib import Path

from pi_k8s import paths
from pi_k8s.clusters.model import ClusterState
from pi_k8s.errors import SpecError, UsageError

STATE_FILE = "cluster.json"


def clusters_dir() -> Path:
    return paths.state_dir() / "clusters"


def cluster_dir(name: str) -> Path:
    return clusters_dir() / name


def known() -> list[str]:
    """The names of the clusters that have a cluster.json, sorted."""
    root = clusters_dir()
    if not root.is_dir():
        return []
    return sorted(p.parent.name for p in root.glob(f"*/{STATE_FILE}") if p.is_file())


def exists(name: str) -> bool:
    return (cluster_dir(name) / STATE_FILE).is_file()


def load(name: str) -> ClusterState:
    """The cluster's state; UsageError when pi-k8s knows no cluster of that name."""
    path = cluster_dir(name) / STATE_FILE
    if not path.is_file():
        names = known()
        raise UsageError(
            f"No cluster named {name!r} is known here ({path} does not exist).",
            hint=f"Known clusters: {', '.join(names)}." if names else _NO_CLUSTER_HINT,
        )
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise SpecError(
            f"{path} cannot be read: {exc}",
            hint="Restore the file, or bootstrap the cluster again to rewrite it.",
        ) from exc
    return ClusterState.from_dict(data, source=str(path))


def save(state: ClusterState) -> Path:
    """Write cluster.json atomically (temp file in the same dir, then rename), 0600."""
    data = state.to_dict()
    ClusterState.from_dict(data)  # never write what could not be read back
    directory = paths.ensure_private_dir(cluster_dir(state.name))
    target = directory / STATE_FILE
    paths.write_atomic(target, json.dumps(data, indent=2) + "\n", mode=0o600)
    return target


def resolve(name: str | None) -> str:
    """The cluster a command acts on: ``name``, else the only known one."""
    if name:
        if not exists(name):
            load(name)  # raises the UsageError that names the known clusters
        return name
    names = known()
    if len(names) == 1:
        return names[0]
    if not names:
        raise UsageError("pi-k8s knows no cluster yet.", hint=_NO_CLUSTER_HINT)
    raise UsageError(
        f"pi-k8s knows {len(names)} clusters ({', '.join(names)}): say which.",
        hint=f"Pass --cluster NAME, e.g. --cluster {names[0]}.",
    )


def inventory_of(name: str) -> Path:
    """The inventory the cluster's last run used; UsageError when it is gone."""
    inventory = Path(load(name).inventory)
    if not inventory.is_file():
        raise UsageError(
            f"Cluster {name!r} was last run with {inventory}, which no longer exists.",
            hint="Pass --inventory FILE, or bootstrap again with --spec to render it anew.",
        )
    return inventory


_NO_CLUSTER_HINT = (
    "`pi-k8s bootstrap` records each cluster it builds (`pi-k8s clusters` lists them)."
)
