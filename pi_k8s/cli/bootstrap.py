"""`pi-k8s bootstrap`: prepare the Pis, install k3s, fetch the kubeconfig."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from pi_k8s import console, paths, runner
from pi_k8s.cli._common import handles_errors


@handles_errors
def bootstrap(
    inventory: Annotated[
        Path | None,
        typer.Option("--inventory", "-i", help="Ansible inventory (hand-written or generated)."),
    ] = None,
    syntax_check: Annotated[
        bool,
        typer.Option("--syntax-check", help="Only check the playbook's syntax; touch no host."),
    ] = False,
) -> None:
    """Prepare the Pis, install k3s servers and agents, fetch the kubeconfig."""
    if syntax_check:
        result = runner.run_playbook(
            "site.yml", inventory=inventory, syntax_check=True
        ).raise_for_status()
        console.info(f"syntax ok: {paths.playbook('site.yml')} ({result.status})")
        return
    console.error(
        "bootstrap is not available in this version yet.",
        "Use --syntax-check, or run playbooks/site.yml with ansible-playbook.",
    )
    raise typer.Exit(2)


def register(app: typer.Typer) -> None:
    app.command("bootstrap")(bootstrap)
