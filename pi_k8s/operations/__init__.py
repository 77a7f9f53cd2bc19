"""The operations: one function per user job, the only door from the CLI into the domain.

Each composes the domain (spec → inventory → runner → verify) and returns data; none
prints. Progress and intermediate results go to the callbacks of a ``Hooks`` the caller
passes (the CLI draws them with pi_k8s.console). This is also pi-k8s's Python API::

    from pi_k8s.operations import Hooks, run_verify
    report = run_verify(Path("inventory/hosts.yml"), hooks=Hooks(step=print))

The local testbed is an operation of its own: pi_k8s.testbed.

Each name is imported from its module on first use (PEP 562), so that `pi-k8s --help`
and each command load only what they run (asyncssh, pydantic and rich are slow to import).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pi_k8s.operations.backup import Backup, BackupResult, list_backups, run_backup
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
        become_password,
        fast_strategy,
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
    from pi_k8s.operations.restore import RestorePlan, RestoreResult, plan_restore, run_restore
    from pi_k8s.operations.status import StatusReport, cluster_status
    from pi_k8s.operations.upgrade import (
        UpgradeOptions,
        UpgradePlan,
        UpgradeResult,
        upgrade_cluster,
    )
    from pi_k8s.operations.verify import DEFAULT_MIN_FREE_MB, DNS_SMOKE_IMAGE, run_verify

# name → the module of pi_k8s.operations that defines it
_WHERE = {
    "DEFAULT_INVENTORY": "clusters",
    "DEFAULT_MIN_FREE_MB": "verify",
    "DNS_SMOKE_IMAGE": "verify",
    "become_password": "clusters",
    "fast_strategy": "clusters",
    "AddPlan": "nodes_add",
    "AddResult": "nodes_add",
    "Backup": "backup",
    "BackupResult": "backup",
    "BootstrapOptions": "bootstrap",
    "BootstrapResult": "bootstrap",
    "ClusterSummary": "clusters",
    "DeployOutcome": "deploy",
    "DeployResult": "deploy",
    "Hooks": "hooks",
    "InventoryPlan": "inventory",
    "RebootOptions": "reboot",
    "RebootPlan": "reboot",
    "RebootResult": "reboot",
    "Removal": "nodes_remove",
    "RemovePlan": "nodes_remove",
    "RemoveResult": "nodes_remove",
    "RenderedInventory": "inventory",
    "ResetOptions": "reset",
    "ResetPlan": "reset",
    "ResetResult": "reset",
    "RestorePlan": "restore",
    "RestoreResult": "restore",
    "ScanSettings": "discover",
    "StatusReport": "status",
    "UpgradeOptions": "upgrade",
    "UpgradePlan": "upgrade",
    "UpgradeResult": "upgrade",
    "WaitResult": "deploy",
    "add_nodes": "nodes_add",
    "check_syntax": "bootstrap",
    "cluster_status": "status",
    "discover_hosts": "discover",
    "list_backups": "backup",
    "list_clusters": "clusters",
    "plan_reset": "reset",
    "reboot_cluster": "reboot",
    "plan_restore": "restore",
    "playbook_path": "bootstrap",
    "remove_nodes": "nodes_remove",
    "render_inventory": "inventory",
    "run_backup": "backup",
    "run_bootstrap": "bootstrap",
    "run_deploy": "deploy",
    "run_reset": "reset",
    "run_restore": "restore",
    "run_verify": "verify",
    "target_inventory": "clusters",
    "upgrade_cluster": "upgrade",
}

__all__ = [
    "DEFAULT_INVENTORY",
    "DEFAULT_MIN_FREE_MB",
    "DNS_SMOKE_IMAGE",
    "AddPlan",
    "AddResult",
    "Backup",
    "BackupResult",
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
    "RestorePlan",
    "RestoreResult",
    "ScanSettings",
    "StatusReport",
    "UpgradeOptions",
    "UpgradePlan",
    "UpgradeResult",
    "WaitResult",
    "add_nodes",
    "become_password",
    "check_syntax",
    "cluster_status",
    "discover_hosts",
    "fast_strategy",
    "list_backups",
    "list_clusters",
    "plan_reset",
    "plan_restore",
    "playbook_path",
    "reboot_cluster",
    "remove_nodes",
    "render_inventory",
    "run_backup",
    "run_bootstrap",
    "run_deploy",
    "run_reset",
    "run_restore",
    "run_verify",
    "target_inventory",
    "upgrade_cluster",
]


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
