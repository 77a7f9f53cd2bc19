"""`pi-k8s testbed up|down|status`: local test hosts that stand in for Pis."""

from __future__ import annotations

from types import ModuleType
from typing import Annotated

import typer

from pi_k8s import console
from pi_k8s import testbed as tb
from pi_k8s.cli._common import handles_errors
from pi_k8s.errors import UsageError
from pi_k8s.testbed import qemu as tbq

app = typer.Typer(
    help="Local test hosts (podman containers that look like Pis) to run pi-k8s without a Pi.",
    no_args_is_help=True,
)

NameOpt = Annotated[str, typer.Option("--name", help="Testbed name (several can coexist).")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]


def _driver_module(name: str) -> ModuleType:
    """The module that runs this testbed: the driver recorded in its state dir."""
    return tbq if tbq.recorded_driver(name) == tbq.DRIVER else tb


def _show(bed: tb.Testbed, as_json: bool) -> None:
    """Print the testbed: JSON with --json, else a table."""
    if as_json:
        console.print_json(bed.to_dict(), schema="testbed")
    else:
        console.testbed_table(bed)


@app.command()
@handles_errors
def up(
    nodes: Annotated[int, typer.Option("--nodes", "-n", min=0, max=200, help="Pi hosts.")] = 3,
    others: Annotated[
        int, typer.Option("--others", min=0, max=50, help="Non-Pi hosts, for false-positive tests.")
    ] = 0,
    subnet: Annotated[
        str | None,
        typer.Option(
            "--subnet",
            help=f"Private IPv4 subnet of the testbed's network [default: {tb.DEFAULT_SUBNET}, "
            f"{tbq.DEFAULT_SUBNET} for VMs].",
            show_default=False,
        ),
    ] = None,
    name: NameOpt = tb.DEFAULT_NAME,
    driver: Annotated[
        str, typer.Option("--driver", help="container (podman) or qemu (test VMs, own kernel).")
    ] = "container",
    arch: Annotated[
        str, typer.Option("--arch", help="VM architecture with --driver qemu: x86_64 or arm64.")
    ] = tbq.DEFAULT_ARCH,
    as_json: JsonOpt = False,
) -> None:
    """Build the image (once) and bring the testbed to exactly N Pi hosts (+ others)."""
    if driver == tbq.DRIVER:
        if others:
            raise UsageError("--others is for container testbeds.", hint="Drop --others.")
        bed = tbq.up(
            nodes, name=name, subnet=subnet or tbq.DEFAULT_SUBNET, arch=arch, progress=console.step
        )
    elif driver == "container":
        if tbq.recorded_driver(name) == tbq.DRIVER:
            raise UsageError(
                f"Testbed {name!r} runs VMs.",
                hint=f"Run `pi-k8s testbed down --name {name}` first, or pick another --name.",
            )
        bed = tb.up(
            nodes, others, name=name, subnet=subnet or tb.DEFAULT_SUBNET, progress=console.step
        )
    else:
        raise UsageError(f"Unknown --driver {driver!r}.", hint="Use container or qemu.")
    _show(bed, as_json)


@app.command()
@handles_errors
def status(name: NameOpt = tb.DEFAULT_NAME, as_json: JsonOpt = False) -> None:
    """List the testbed's hosts."""
    bed = _driver_module(name).status(name)
    _show(bed, as_json)


@app.command()
@handles_errors
def down(name: NameOpt = tb.DEFAULT_NAME) -> None:
    """Remove every container, VM, network and volume the testbed created."""
    removed = _driver_module(name).down(name, progress=console.step)
    console.info(f"testbed {name}: removed {removed} resources")
