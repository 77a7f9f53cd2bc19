"""The `pi-k8s` command: parse options, call one pi_k8s.operations function, render, map errors.

Exit codes: see pi_k8s.errors (0 ok, 1 unexpected, 2 usage, 3 bad input / nothing
found, 4 playbook failed, 5 verification failed, 6 environment missing something).
"""

from __future__ import annotations

from typing import Annotated

import typer

from pi_k8s import __version__
from pi_k8s.cli import (
    backup,
    bootstrap,
    clusters,
    deploy,
    discover,
    inventory,
    nodes,
    reboot,
    reset,
    status,
    testbed,
    upgrade,
    verify,
)

app = typer.Typer(
    name="pi-k8s",
    help="Find the Raspberry Pis on your LAN and turn them into a verified k3s cluster.",
    context_settings={"help_option_names": ["-h", "--help"]},
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=True,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"pi-k8s {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Show the version."),
    ] = False,
) -> None:
    """Find the Raspberry Pis on your LAN and turn them into a verified k3s cluster."""


discover.register(app)
inventory.register(app)
bootstrap.register(app)
verify.register(app)
deploy.register(app)
clusters.register(app)
nodes.register(app)
reboot.register(app)
status.register(app)
backup.register(app)
reset.register(app)
upgrade.register(app)
app.add_typer(testbed.app, name="testbed")


def main() -> None:
    app()
