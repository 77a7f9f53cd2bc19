"""The clusters pi-k8s built, remembered on the controller.

``model`` (the data of cluster.json and its JSON Schema, shipped in pi_k8s/data),
``store`` (where each cluster's state lives; atomic writes; which cluster a command
means), ``record`` (an inventory and a finished run → the new state; a member keeps its
role and order). Nothing here prints or runs Ansible.
"""

from pi_k8s.clusters.model import SCHEMA_VERSION, ClusterState, K3sRelease, Member, Run, schema
from pi_k8s.clusters.record import check_membership, release_of, update_state
from pi_k8s.clusters.store import (
    cluster_dir,
    exists,
    inventory_of,
    known,
    load,
    resolve,
    save,
)

__all__ = [
    "SCHEMA_VERSION",
    "ClusterState",
    "K3sRelease",
    "Member",
    "Run",
    "check_membership",
    "cluster_dir",
    "exists",
    "inventory_of",
    "known",
    "load",
    "release_of",
    "resolve",
    "save",
    "schema",
    "update_state",
]
