"""`pi-k8s inventory`: render an Ansible inventory from a cluster spec and the discovered Pis."""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Annotated

import typer

from pi_k8s import console, paths
from pi_k8s import operations as ops
from pi_k8s.cli._common import console_hooks, handles_errors, progress_hooks
from pi_k8s.cli._options import FromOpt, JsonOpt, SubnetOpt
from pi_k8s.errors import UsageError


def register(app: typer.Typer) -> None:
    app.command("inventory")(inventory)


@handles_errors
def inventory(
    spec: Annotated[
        Path,
        typer.Option("--spec", "-s", help="The cluster spec (see inventory/cluster.example.yaml)."),
    ] = Path("cluster.yaml"),
    from_file: FromOpt = None,
    discover: Annotated[
        bool, typer.Option("--discover", help="Discover the hosts on the LAN now.")
    ] = False,
    subnets: SubnetOpt = None,
    output: Annotated[
        Path, typer.Option("--output", "-o", help="Where to write the inventory.")
    ] = Path("inventory/hosts.yml"),
    as_json: JsonOpt = False,
) -> None:
    """Choose server and agent roles for the discovered Pis and write the Ansible inventory."""
    if from_file is not None and discover:
        raise UsageError(
            "--from and --discover are mutually exclusive.",
            hint="Read hosts from a file with --from, or discover them now with --discover.",
        )
    if from_file is None and not discover:
        raise UsageError(
            "Say where the hosts come from: --from discovery.json or --discover.",
            hint="pi-k8s discover --json > discovery.json writes the file --from reads.",
        )
    if subnets and not discover:
        raise UsageError(
            "--subnet only applies with --discover.",
            hint="Drop --subnet, or discover now with --discover --subnet CIDR.",
        )
    for net in subnets or []:
        try:
            ipaddress.IPv4Network(net, strict=False)
        except ValueError:
            raise UsageError(
                f"--subnet {net!r} is not an IPv4 network.", hint="e.g. --subnet 192.168.1.0/24"
            ) from None

    paths.check_creatable_file(output, "--output")  # before discovery, not after it
    rendered = ops.render_inventory(
        spec,
        from_file=from_file,
        discover=discover,
        subnets=subnets or [],
        output=output,
        hooks=progress_hooks() if as_json else console_hooks(),
    )
    if as_json:
        console.print_json(
            {
                "cluster": rendered.cluster,
                "inventory": str(rendered.path),
                "nodes": [
                    {
                        "hostname": d.host.hostname,
                        "ip": d.host.ip,
                        "role": d.role,
                        "reason": d.reason,
                    }
                    for d in rendered.plan.decisions
                ],
                "warnings": rendered.plan.warnings,
            },
            schema="inventory",
        )
