"""The cluster at a glance: the job of `pi-k8s status` (pi_k8s.status does the reading)."""

from __future__ import annotations

from pathlib import Path

from pi_k8s import ansible_vars, status
from pi_k8s.operations.clusters import previous_state, target_inventory
from pi_k8s.status import StatusReport


def cluster_status(cluster: str | None = None, inventory: Path | None = None) -> StatusReport:
    """One pass over the cluster's hosts and API, from ``--cluster`` or ``--inventory``
    (neither: the only cluster pi-k8s remembers, else inventory/hosts.yml).

    cluster.json (when pi-k8s has one for the inventory's cluster) gives the roles, the
    joined dates and the runs. Hosts that cannot be read are rows saying so; errors are
    only for what cannot be read on the controller: UsageError (unknown cluster, both
    options), SpecError (the inventory or cluster.json is missing or invalid).
    """
    path = target_inventory(cluster, inventory)
    inv = ansible_vars.load(path)
    return status.gather(inv, previous_state(inv), path)
