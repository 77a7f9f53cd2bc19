"""`pi-k8s testbed up|down|status`: local test hosts that stand in for Pis."""

from __future__ import annotations

from typing import Annotated

import typer

from pi_k8s import console
from pi_k8s import testbed as tb
from pi_k8s.cli._common import handles_errors

app = typer.Typer(
    help="Local test hosts (podman containers that look like Pis) to run pi-k8s without a Pi.",
    no_args_is_help=True,
)

NameOpt = Annotated[str, typer.Option("--name", help="Testbed name (several can coexist).")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]


@app.command()
@handles_errors
def up(
    nodes: Annotated[int, typer.Option("--nodes", "-n", min=0, max=200, help="Pi hosts.")] = 3,
    others: Annotated[
        int, typer.Option("--others", min=0, max=50, help="Non-Pi hosts, for false-positive tests.")
    ] = 0,
    subnet: Annotated[
        str, typer.Option("--subnet", help="Private IPv4 subnet of the testbed's podman network.")
    ] = tb.DEFAULT_SUBNET,
    name: NameOpt = tb.DEFAULT_NAME,
    as_json: JsonOpt = False,
) -> None:
    """Build the image (once) and bring the testbed to exactly N Pi hosts (+ others)."""
    bed = tb.up(nodes, others, name=name, subnet=subnet, progress=console.step)
    if as_json:
        console.print_json(bed.to_dict())
    else:
        console.testbed_table(bed)


@app.command()
@handles_errors
def status(name: NameOpt = tb.DEFAULT_NAME, as_json: JsonOpt = False) -> None:
    """List the testbed's hosts."""
    bed = tb.status(name)
    if as_json:
        console.print_json(bed.to_dict())
    else:
        console.testbed_table(bed)


@app.command()
@handles_errors
def down(name: NameOpt = tb.DEFAULT_NAME) -> None:
    """Remove every container, network and volume the testbed created."""
    removed = tb.down(name, progress=console.step)
    console.info(f"testbed {name}: removed {removed} resources")
