"""`discover()`: the steps together, on the subnets asked for, into a sorted list[PiHost]."""

from __future__ import annotations

import asyncio
import ipaddress
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from pi_k8s import oui, paths
from pi_k8s.discovery.candidates import Candidate
from pi_k8s.discovery.mdns import mdns_browse
from pi_k8s.discovery.neighbours import neighbour_table
from pi_k8s.discovery.ssh import (
    SSH_PORT,
    KnownHosts,
    SshSettings,
    SshTarget,
    check_identity,
    check_ssh_config,
    resolve_target,
    ssh_probe,
)
from pi_k8s.discovery.subnets import default_subnets, local_addresses, parse_subnets
from pi_k8s.discovery.tcp_sweep import sweep
from pi_k8s.errors import UsageError
from pi_k8s.models import PiHost

Progress = Callable[[str], None]


def _noop(_: str) -> None:
    pass


def discover(
    subnets: Sequence[str] | None = None,
    *,
    timeout: float = 1.0,
    ssh_timeout: float = 10.0,
    user: str | None = None,
    identity: str | Path | None = None,
    known_hosts: str | Path | None = None,
    concurrency: int = 256,
    ssh_concurrency: int = 32,
    mdns_interfaces: Sequence[str] | None = None,
    mdns_duration: float = 1.0,
    ssh_config: str | Path | None = None,
    hosts: Sequence[str] = (),
    progress: Progress = _noop,
) -> list[PiHost]:
    """Find the hosts on ``subnets`` and identify which are Raspberry Pis.

    ``subnets``: CIDR strings; None means the subnets of this machine's own interfaces.
    ``timeout``: seconds a sweep connect waits; ``ssh_timeout``: seconds for SSH login.
    ``mdns_interfaces``: addresses of this machine to run mDNS on; None means this
    machine's addresses inside ``subnets``; an empty list turns mDNS off.
    ``known_hosts``: pi-k8s's own file (default ``$PI_K8S_STATE_DIR/known_hosts``).
    ``ssh_config``: the OpenSSH client config SSH reads (default ~/.ssh/config).
    ``hosts``: names (Host aliases of that config) or addresses to probe over SSH as well,
    without a sweep: the way to reach a host behind a ProxyJump host. With ``hosts`` and
    no ``subnets``, nothing is swept.
    The machine's own addresses are not probed. Returns every host that answered,
    sorted by address.
    """
    config_path = Path(ssh_config).expanduser() if ssh_config else None
    if config_path is not None:
        check_ssh_config(config_path)
    if hosts and not subnets:
        networks = []
    else:
        networks = parse_subnets(subnets) if subnets else default_subnets()
    if not networks and not hosts:
        raise UsageError(
            "No subnet to search: this machine has no IPv4 interface besides loopback.",
            hint="Pass --subnet CIDR.",
        )
    identity_path = Path(identity).expanduser() if identity else None
    if identity_path is not None:
        check_identity(identity_path)
    settings = SshSettings(
        user=user,
        identity=identity_path,
        known_hosts=Path(known_hosts) if known_hosts else paths.state_dir() / "known_hosts",
        timeout=ssh_timeout,
        config=[str(config_path)] if config_path else None,
    )
    targets = [resolve_target(name, settings) for name in dict.fromkeys(hosts)]
    own = local_addresses()
    if mdns_interfaces is None:
        mdns_interfaces = [str(i.ip) for i in own if any(i.ip in net for net in networks)]
    return asyncio.run(
        find_hosts(
            networks,
            settings,
            timeout=timeout,
            concurrency=concurrency,
            ssh_concurrency=ssh_concurrency,
            mdns_interfaces=list(mdns_interfaces),
            mdns_duration=mdns_duration,
            exclude={str(i.ip) for i in own},
            progress=progress,
            targets=targets,
            ssh_config=str(config_path) if config_path else None,
        )
    )


async def find_hosts(
    networks: list[ipaddress.IPv4Network],
    settings: SshSettings,
    *,
    timeout: float,
    concurrency: int,
    ssh_concurrency: int,
    mdns_interfaces: list[str],
    mdns_duration: float,
    exclude: set[str],
    progress: Progress,
    targets: Sequence[SshTarget] = (),
    ssh_config: str | None = None,
) -> list[PiHost]:
    candidates: dict[str, Candidate] = {}
    alive: set[str] = set()
    mdns_found: Sequence[Any] = []
    if networks:
        described = ", ".join(str(n) for n in networks)
        progress(
            f"sweeping {described} (TCP {SSH_PORT})"
            + (f" and browsing mDNS on {', '.join(mdns_interfaces)}" if mdns_interfaces else "")
        )
        alive, mdns_found = await asyncio.gather(
            sweep(networks, timeout=timeout, concurrency=concurrency, exclude=exclude),
            mdns_browse(mdns_interfaces, duration=mdns_duration),
        )

    def add(ip: str) -> Candidate:
        return candidates.setdefault(ip, Candidate(ip))

    for ip in alive:
        add(ip).seen("tcp")
    for ip, mac in neighbour_table(networks).items():
        if ip not in exclude:
            c = add(ip)
            c.mac = mac
            c.seen("neighbour")
    for found in mdns_found:
        if found.ip in exclude or not any(
            ipaddress.ip_address(found.ip) in net for net in networks
        ):
            continue  # only hosts on the subnets we were asked about
        c = add(found.ip)
        c.mac = c.mac or found.mac
        c.hostname = c.hostname or found.hostname
        c.seen("mdns")
    named = {t.address: t for t in targets}
    for t in targets:
        add(t.address).seen("ssh-config" if t.name != t.address else "named")
    progress(f"{len(candidates)} hosts answered; probing them over SSH")

    known = KnownHosts(settings.known_hosts)
    limit = asyncio.Semaphore(ssh_concurrency)

    async def identify(c: Candidate) -> PiHost:
        async with limit:
            fields = await ssh_probe(c.ip, settings, known, named.get(c.ip))
        host = _host(c, fields)
        target = named.get(c.ip)
        if target is not None and target.name != target.address:
            host.ssh_host = target.name  # the inventory reaches it by this name, as SSH did
        host.ssh_config = ssh_config
        return host

    hosts = await asyncio.gather(*(identify(c) for c in candidates.values()))
    known.save()
    return sorted(hosts, key=lambda h: ipaddress.ip_address(h.ip))


def _host(c: Candidate, fields: dict[str, Any]) -> PiHost:
    mac = oui.normalise_mac(c.mac) if c.mac else None
    host = PiHost(ip=c.ip, mac=mac, hostname=c.hostname, oui_match=oui.is_raspberry_pi(mac))
    host.sources = list(c.sources)
    if "ssh_error" in fields:
        host.ssh_error = fields["ssh_error"]
        host.is_pi = host.oui_match
        return host
    for key, value in fields.items():
        if value is not None or key == "is_pi":
            setattr(host, key, value)
    host.sources.append("ssh")
    return host
