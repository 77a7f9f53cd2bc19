"""Find the Raspberry Pis on the LAN: the job of `pi-k8s discover`."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TypedDict, Unpack

from pi_k8s import discovery, paths
from pi_k8s.models import PiHost
from pi_k8s.operations.hooks import Hooks


class ScanSettings(TypedDict, total=False):
    """How the LAN is scanned: keyword arguments of ``pi_k8s.discovery.discover``."""

    timeout: float  # seconds per TCP connect (default 1.0)
    ssh_timeout: float  # seconds per SSH probe (default 10.0)
    user: str | None  # SSH user (default: the current user's)
    identity: Path | None  # SSH private key
    known_hosts: Path | None  # where host keys are recorded (default: the state dir's)
    mdns_interfaces: Sequence[str] | None  # [] turns mDNS off; None: this machine's
    ssh_config: Path | None  # the OpenSSH client config (default: ~/.ssh/config)
    hosts: Sequence[str]  # Host aliases or addresses to probe too, without a sweep


def discover_hosts(
    subnets: Sequence[str] | None = None,
    *,
    output: Path | None = None,
    hooks: Hooks | None = None,
    **scan: Unpack[ScanSettings],
) -> list[PiHost]:
    """Sweep ``subnets`` (default: this machine's), identify each host over SSH.

    ``scan``: see ``ScanSettings``. ``output``: also write the hosts as JSON there
    (checked before the scan, so a bad path costs no sweep). Progress lines go to
    ``hooks.step``.
    """
    hooks = hooks or Hooks()
    if output is not None:  # before the scan, not after it
        paths.check_output_file(output, "--output")
    known_hosts = scan.get("known_hosts")
    if known_hosts is not None:  # its directories are made when the first key is saved
        paths.check_creatable_file(known_hosts, "--known-hosts")
    hosts = discovery.discover(subnets, progress=hooks.step, **scan)
    if output is not None:
        discovery.write_hosts_json(hosts, output)
    return hosts
