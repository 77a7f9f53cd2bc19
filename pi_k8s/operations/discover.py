"""Find the Raspberry Pis on the LAN: the job of `pi-k8s discover`."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from pi_k8s import discovery, paths
from pi_k8s.models import PiHost
from pi_k8s.operations.hooks import Hooks


def discover_hosts(
    subnets: Sequence[str] | None = None,
    *,
    timeout: float = 1.0,
    ssh_timeout: float = 10.0,
    user: str | None = None,
    identity: Path | None = None,
    known_hosts: Path | None = None,
    mdns_interfaces: Sequence[str] | None = None,
    output: Path | None = None,
    hooks: Hooks | None = None,
) -> list[PiHost]:
    """Sweep ``subnets`` (default: this machine's), identify each host over SSH.

    ``output``: also write the hosts as JSON there (checked before the scan, so a bad
    path costs no sweep). ``mdns_interfaces=[]`` turns mDNS off; ``None`` picks this
    machine's addresses inside the subnets. Progress lines go to ``hooks.step``.
    """
    hooks = hooks or Hooks()
    if output is not None:  # before the scan, not after it
        paths.check_output_file(output, "--output")
    if known_hosts is not None:  # its directories are made when the first key is saved
        paths.check_creatable_file(known_hosts, "--known-hosts")
    hosts = discovery.discover(
        subnets,
        timeout=timeout,
        ssh_timeout=ssh_timeout,
        user=user,
        identity=identity,
        known_hosts=known_hosts,
        mdns_interfaces=mdns_interfaces,
        progress=hooks.step,
    )
    if output is not None:
        discovery.write_hosts_json(hosts, output)
    return hosts
