"""`pi-k8s verify`: prove the cluster is healthy, and say what is wrong when it is not."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from pi_k8s import operations as ops
from pi_k8s.cli._common import handles_errors, verify_hooks
from pi_k8s.cli._options import ClusterOpt, InventoryOpt, SkipWorkloadsOpt


@handles_errors
def verify(
    cluster: ClusterOpt = None,
    inventory: InventoryOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print results as JSON.")] = False,
    junit: Annotated[
        Path | None, typer.Option("--junit", help="Also write a JUnit XML report here.")
    ] = None,
    skip_workloads: SkipWorkloadsOpt = False,
    min_free_mb: Annotated[
        int, typer.Option("--min-free-mb", min=0, help="Free space wanted on /var/lib/rancher.")
    ] = ops.DEFAULT_MIN_FREE_MB,
) -> None:
    """Check every host and the cluster; exit 5 if any check fails."""
    ops.run_verify(
        ops.target_inventory(cluster, inventory),
        junit=junit,
        workloads=not skip_workloads,
        min_free_mb=min_free_mb,
        hooks=verify_hooks(as_json=as_json),
    )


def register(app: typer.Typer) -> None:
    app.command("verify")(verify)
