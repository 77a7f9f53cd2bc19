"""The operations: one function per user job, the only door from the CLI into the domain.

Each composes the domain (spec → inventory → runner → verify) and returns data; none
prints. Progress and intermediate results go to the callbacks of a ``Hooks`` the caller
passes (the CLI draws them with pi_k8s.console). This is also pi-k8s's Python API::

    from pi_k8s.operations import Hooks, run_verify
    report = run_verify(Path("inventory/hosts.yml"), hooks=Hooks(step=print))

The local testbed is an operation of its own: pi_k8s.testbed.
"""

from pi_k8s.operations.bootstrap import (
    BootstrapOptions,
    BootstrapResult,
    check_syntax,
    playbook_path,
    run_bootstrap,
)
from pi_k8s.operations.clusters import (
    DEFAULT_INVENTORY,
    ClusterSummary,
    list_clusters,
    target_inventory,
)
from pi_k8s.operations.deploy import DeployOutcome, DeployResult, WaitResult, run_deploy
from pi_k8s.operations.discover import ScanSettings, discover_hosts
from pi_k8s.operations.hooks import Hooks
from pi_k8s.operations.inventory import InventoryPlan, RenderedInventory, render_inventory
from pi_k8s.operations.nodes_add import AddPlan, AddResult, add_nodes
from pi_k8s.operations.nodes_remove import Removal, RemovePlan, RemoveResult, remove_nodes
from pi_k8s.operations.reboot import RebootOptions, RebootPlan, RebootResult, reboot_cluster
from pi_k8s.operations.reset import ResetOptions, ResetPlan, ResetResult, plan_reset, run_reset
from pi_k8s.operations.status import StatusReport, cluster_status
from pi_k8s.operations.verify import DEFAULT_MIN_FREE_MB, DNS_SMOKE_IMAGE, run_verify

__all__ = [
    "DEFAULT_INVENTORY",
    "DEFAULT_MIN_FREE_MB",
    "DNS_SMOKE_IMAGE",
    "AddPlan",
    "AddResult",
    "BootstrapOptions",
    "BootstrapResult",
    "ClusterSummary",
    "DeployOutcome",
    "DeployResult",
    "Hooks",
    "InventoryPlan",
    "RebootOptions",
    "RebootPlan",
    "RebootResult",
    "Removal",
    "RemovePlan",
    "RemoveResult",
    "RenderedInventory",
    "ResetOptions",
    "ResetPlan",
    "ResetResult",
    "ScanSettings",
    "StatusReport",
    "WaitResult",
    "add_nodes",
    "check_syntax",
    "cluster_status",
    "discover_hosts",
    "list_clusters",
    "plan_reset",
    "playbook_path",
    "reboot_cluster",
    "remove_nodes",
    "render_inventory",
    "run_bootstrap",
    "run_deploy",
    "run_reset",
    "run_verify",
    "target_inventory",
]
