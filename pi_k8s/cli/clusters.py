"""`pi-k8s clusters`: the clusters pi-k8s remembers (one cluster.json each)."""

from __future__ import annotations

import typer

from pi_k8s import console
from pi_k8s import operations as ops
from pi_k8s.cli._common import handles_errors
from pi_k8s.cli._options import JsonOpt


@handles_errors
def clusters(as_json: JsonOpt = False) -> None:
    """List the clusters pi-k8s bootstrapped, with their API endpoint and members."""
    found = ops.list_clusters()
    if as_json:
        console.print_json([c.to_dict() for c in found], schema="clusters")
        return
    if not found:
        console.info("No cluster yet: `pi-k8s bootstrap` records each cluster it builds.")
        return
    console.table(
        "clusters",
        ["name", "API", "k3s", "servers", "agents", "last run"],
        (
            (
                c.name,
                c.api_endpoint,
                c.k3s_version or f"channel {c.k3s_channel}",
                str(c.servers),
                str(c.agents),
                _last_run(c.last_run),
            )
            for c in found
        ),
    )


def _last_run(run: dict | None) -> str:
    if run is None:
        return "-"
    return f"{run['command']} {run['started']}: {'ok' if run['ok'] else 'FAILED'}"


def register(app: typer.Typer) -> None:
    app.command("clusters")(clusters)
