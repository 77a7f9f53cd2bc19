"""`pi-k8s discover`: find the Raspberry Pis on the LAN and say what each one is."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from pi_k8s import console
from pi_k8s import operations as ops
from pi_k8s.cli._common import handles_errors
from pi_k8s.errors import NothingFound


def register(app: typer.Typer) -> None:
    app.command("discover")(discover_command)


@handles_errors
def discover_command(
    subnet: Annotated[
        list[str] | None,
        typer.Option(
            "--subnet",
            "-s",
            help="CIDR to search, e.g. 192.168.1.0/24 (repeatable). "
            "Default: the subnets of this machine's own interfaces.",
        ),
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the hosts as JSON (for scripts).")
    ] = False,
    output: Annotated[
        Path | None,
        typer.Option(
            "--output",
            "-o",
            help="Also write the hosts as JSON to this file "
            "(read by `pi-k8s inventory --from FILE`); its directory must exist.",
        ),
    ] = None,
    timeout: Annotated[
        float, typer.Option(help="Seconds each address has to answer the sweep.", min=0.05)
    ] = 1.0,
    ssh_timeout: Annotated[
        float, typer.Option(help="Seconds each SSH login may take.", min=0.5)
    ] = 10.0,
    user: Annotated[
        str | None,
        typer.Option(help="SSH user (default: ~/.ssh/config, else your login name)."),
    ] = None,
    identity: Annotated[
        Path | None,
        typer.Option(
            "--identity", "-i", help="SSH private key to log in with (unencrypted; else ssh-agent)."
        ),
    ] = None,
    known_hosts: Annotated[
        Path | None,
        typer.Option(
            help="known_hosts file pi-k8s records host keys in "
            "(default: $PI_K8S_STATE_DIR/known_hosts)."
        ),
    ] = None,
    mdns_interface: Annotated[
        list[str] | None,
        typer.Option(
            help="Address of this machine to run mDNS on (repeatable). "
            "Default: this machine's addresses inside the searched subnets."
        ),
    ] = None,
    no_mdns: Annotated[bool, typer.Option("--no-mdns", help="Do not use mDNS.")] = False,
    ssh_config: Annotated[
        Path | None,
        typer.Option(
            "--ssh-config",
            "-F",
            help="OpenSSH client config to read instead of ~/.ssh/config "
            "(Host, HostName, Port, User, IdentityFile, ProxyJump).",
        ),
    ] = None,
    host: Annotated[
        list[str] | None,
        typer.Option(
            "--host",
            "-H",
            help="Also probe this host over SSH without a sweep: a Host of the SSH config "
            "(e.g. one behind a ProxyJump host) or an address (repeatable). "
            "Without --subnet, only these are probed.",
        ),
    ] = None,
) -> None:
    """Find the Raspberry Pis on the LAN and identify them over SSH."""
    hosts = ops.discover_hosts(
        subnet or None,
        timeout=timeout,
        ssh_timeout=ssh_timeout,
        user=user,
        identity=identity,
        known_hosts=known_hosts,
        mdns_interfaces=[] if no_mdns else (mdns_interface or None),
        ssh_config=ssh_config,
        hosts=host or [],
        output=output,
        hooks=ops.Hooks(step=console.step),
    )
    if as_json:
        console.print_json([h.to_dict() for h in hosts], schema="discover")
    else:
        console.hosts_table(hosts)
    if not any(h.is_pi for h in hosts):
        searched = ", ".join([*(subnet or []), *(host or [])]) or "this machine's subnets"
        raise NothingFound(
            f"No Raspberry Pi found on {searched} ({len(hosts)} other hosts answered).",
            hint="Check --subnet, that the Pis are powered and on this LAN, and that SSH "
            "is enabled on them (Raspberry Pi Imager: Services → Enable SSH).",
        )
