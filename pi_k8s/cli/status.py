"""`pi-k8s status`: the cluster at a glance (nodes, API, last runs), once or --watch."""

from __future__ import annotations

from typing import Annotated

import typer

from pi_k8s import console
from pi_k8s import operations as ops
from pi_k8s.cli._common import handles_errors
from pi_k8s.cli._options import ClusterOpt, InventoryOpt, JsonOpt
from pi_k8s.errors import UsageError


@handles_errors
def status(
    cluster: ClusterOpt = None,
    inventory: InventoryOpt = None,
    as_json: JsonOpt = False,
    watch: Annotated[
        bool,
        typer.Option(
            "--watch", "-w", help="Redraw in place every --interval seconds (Ctrl-C ends)."
        ),
    ] = False,
    interval: Annotated[
        float, typer.Option("--interval", min=1.0, help="Seconds between --watch refreshes.")
    ] = 5.0,
) -> None:
    """Each node's role, k3s version, Ready, Pi model, temperature, throttling, disk and
    uptime; who answers on the API; the last runs. An unreachable host is a row saying so
    (exit 0)."""
    if watch and as_json:
        raise UsageError(
            "--watch and --json exclude each other.",
            hint="For a feed, run `pi-k8s status --json` in a loop (e.g. with watch(1)).",
        )
    if watch and not console.out.is_terminal:
        raise UsageError(
            "--watch redraws in place: it needs a terminal, and standard output is not one.",
            hint="Leave out --watch to print the status once, or use --json in a loop.",
        )
    if watch:
        console.watch_status(lambda: ops.cluster_status(cluster, inventory), interval)
        return
    report = ops.cluster_status(cluster, inventory)
    if as_json:
        console.print_json(report.to_dict(), schema="status")
    else:
        console.status_report(report)


def register(app: typer.Typer) -> None:
    app.command("status")(status)
