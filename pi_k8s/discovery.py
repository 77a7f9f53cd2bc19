"""LAN → list[PiHost]: sweep, neighbour table, mDNS, MAC OUI, then an SSH probe per host.

1. Sweep: a concurrent TCP connect to port 22 of every address of each subnet. A
   connection or a refusal both prove a host is there; the connects also make the
   kernel resolve every address, so the neighbour table afterwards holds the MAC of
   each host that answered ARP, even one whose firewall drops port 22.
2. mDNS (python-zeroconf), at the same time: ``_workstation._tcp`` (what Raspberry Pi
   OS advertises; the instance name carries the MAC) and ``raspberrypi.local``. It
   binds only to the interface addresses it is given.
3. SSH (asyncssh), bounded by a semaphore: one command reads the device tree, cpuinfo,
   meminfo, os-release … (``probe.PROBE_SCRIPT``), parsed by ``probe.identify``.
   Host keys are trusted on first use into a known_hosts file pi-k8s owns; a changed
   key fails that host with ``ssh_error="host key changed"``.

Hosts that answer but are not Pis come back with ``is_pi=False``; hosts SSH cannot
probe come back with ``ssh_error`` set and the OUI verdict.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import ipaddress
import json
import os
import re
import subprocess
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncssh

from pi_k8s import oui, paths, probe
from pi_k8s.errors import UsageError
from pi_k8s.models import PiHost

Progress = Callable[[str], None]

SSH_PORT = 22
MAX_HOSTS = 65536  # a /16; larger sweeps are refused
WORKSTATION_SERVICE = "_workstation._tcp.local."
DEFAULT_MDNS_NAMES = ("raspberrypi.local.",)


def _noop(_: str) -> None:
    pass


# ----------------------------------------------------------------------------- subnets


def parse_subnets(values: Sequence[str]) -> list[ipaddress.IPv4Network]:
    """CIDR strings → networks; UsageError (exit 2) for anything we cannot sweep."""
    networks: list[ipaddress.IPv4Network] = []
    for value in values:
        try:
            net = ipaddress.ip_network(value.strip(), strict=False)
        except ValueError as exc:
            raise UsageError(
                f"Invalid subnet {value!r}: {exc}.",
                hint="Use CIDR form, e.g. --subnet 192.168.1.0/24.",
            ) from exc
        if not isinstance(net, ipaddress.IPv4Network):
            raise UsageError(
                f"Subnet {value} is IPv6; only IPv4 subnets can be swept.",
                hint="Pass the IPv4 subnet of the Pis' LAN, e.g. --subnet 192.168.1.0/24.",
            )
        if net.num_addresses > MAX_HOSTS:
            raise UsageError(
                f"Subnet {value} has {net.num_addresses} addresses; the limit is a /16.",
                hint="Pass the LAN's own subnet, usually a /24.",
            )
        if net not in networks:
            networks.append(net)
    return networks


def local_addresses() -> list[ipaddress.IPv4Interface]:
    """The machine's own IPv4 interface addresses, loopback left out (reads, sends nothing)."""
    import ifaddr

    found: list[ipaddress.IPv4Interface] = []
    for adapter in ifaddr.get_adapters():
        for ip in adapter.ips:
            if isinstance(ip.ip, str):
                iface = ipaddress.IPv4Interface(f"{ip.ip}/{ip.network_prefix}")
                if not iface.ip.is_loopback and not iface.ip.is_link_local:
                    found.append(iface)
    return found


def default_subnets() -> list[ipaddress.IPv4Network]:
    """The subnets of this machine's own non-loopback interfaces (used when none given)."""
    nets: list[ipaddress.IPv4Network] = []
    for iface in local_addresses():
        if iface.network.num_addresses <= MAX_HOSTS and iface.network not in nets:
            nets.append(iface.network)
    return nets


# ----------------------------------------------------------------------------- sweep


@dataclass
class Candidate:
    ip: str
    mac: str | None = None
    hostname: str | None = None
    sources: list[str] = field(default_factory=list)

    def seen(self, source: str) -> None:
        if source not in self.sources:
            self.sources.append(source)


async def _tcp_alive(ip: str, port: int, timeout: float) -> bool:
    """True when something at ip answers on port: a connection, or a refusal (RST)."""
    try:
        _reader, writer = await asyncio.wait_for(asyncio.open_connection(ip, port), timeout)
    except ConnectionRefusedError:
        return True
    except (TimeoutError, OSError):
        return False
    writer.close()
    with contextlib.suppress(OSError):
        await writer.wait_closed()
    return True


async def sweep(
    networks: Sequence[ipaddress.IPv4Network],
    *,
    timeout: float,
    concurrency: int,
    exclude: set[str] | None = None,
) -> set[str]:
    """Addresses in ``networks`` that answered a TCP connect (or refused it) on port 22."""
    exclude = exclude or set()
    limit = asyncio.Semaphore(concurrency)

    async def one(ip: str) -> str | None:
        async with limit:
            return ip if await _tcp_alive(ip, SSH_PORT, timeout) else None

    addresses = [str(a) for net in networks for a in _addresses(net) if str(a) not in exclude]
    results = await asyncio.gather(*(one(ip) for ip in addresses))
    return {ip for ip in results if ip}


def _addresses(net: ipaddress.IPv4Network) -> list[ipaddress.IPv4Address]:
    return list(net.hosts()) if net.prefixlen < 31 else list(net)


def neighbour_table(networks: Sequence[ipaddress.IPv4Network]) -> dict[str, str]:
    """{ip: mac} from the kernel neighbour table, limited to ``networks``.

    ``ip -j neigh show`` (iproute2), else ``/proc/net/arp``. Reading it sends nothing.
    """
    nets = list(networks)
    try:
        proc = subprocess.run(
            ["ip", "-j", "neigh", "show"], capture_output=True, text=True, check=False
        )
        if proc.returncode == 0 and proc.stdout.strip():
            return probe.parse_ip_neigh_json(proc.stdout, nets)
    except FileNotFoundError:
        pass
    try:
        return probe.parse_proc_net_arp(Path("/proc/net/arp").read_text(), nets)
    except OSError:
        return {}


# ----------------------------------------------------------------------------- mDNS

_WORKSTATION_MAC = re.compile(r"\[([0-9a-fA-F]{2}(?::[0-9a-fA-F]{2}){5})\]")


def parse_workstation_name(name: str) -> tuple[str, str | None]:
    """``rpi-1 [dc:a6:32:01:02:03]._workstation._tcp.local.`` → ("rpi-1", "dc:a6:32:01:02:03")."""
    instance = name.removesuffix("." + WORKSTATION_SERVICE).removesuffix(WORKSTATION_SERVICE)
    match = _WORKSTATION_MAC.search(instance)
    mac = match.group(1).lower() if match else None
    host = _WORKSTATION_MAC.sub("", instance).strip() or instance
    return host, mac


async def mdns_browse(
    interfaces: Sequence[str],
    *,
    duration: float,
    names: Sequence[str] = DEFAULT_MDNS_NAMES,
) -> list[Candidate]:
    """Browse ``_workstation._tcp`` and resolve ``names`` on the given interface addresses.

    Binds python-zeroconf to exactly ``interfaces`` (IPv4 addresses of this machine);
    an empty list does nothing.
    """
    if not interfaces:
        return []
    from zeroconf import IPVersion, ServiceStateChange
    from zeroconf.asyncio import AsyncServiceBrowser, AsyncServiceInfo, AsyncZeroconf

    aiozc = AsyncZeroconf(interfaces=list(interfaces), ip_version=IPVersion.V4Only)
    seen: list[str] = []

    def on_change(
        zeroconf: Any, service_type: str, name: str, state_change: ServiceStateChange
    ) -> None:
        del zeroconf, service_type
        if state_change is not ServiceStateChange.Removed and name not in seen:
            seen.append(name)

    found: list[Candidate] = []
    browser = AsyncServiceBrowser(aiozc.zeroconf, [WORKSTATION_SERVICE], handlers=[on_change])
    try:
        resolved = await asyncio.gather(
            *(_resolve_name(aiozc, n, duration) for n in names), asyncio.sleep(duration)
        )
        for name, addrs in zip(names, resolved, strict=False):
            for addr in addrs or []:
                found.append(
                    Candidate(addr, hostname=name.removesuffix(".local."), sources=["mdns"])
                )
        for name in seen:
            info = AsyncServiceInfo(WORKSTATION_SERVICE, name)
            if not await info.async_request(aiozc.zeroconf, int(duration * 1000)):
                continue
            host, mac = parse_workstation_name(name)
            for addr in info.parsed_addresses(IPVersion.V4Only):
                found.append(Candidate(addr, mac=mac, hostname=host, sources=["mdns"]))
    finally:
        await browser.async_cancel()
        await aiozc.async_close()
    return found


async def _resolve_name(aiozc: Any, name: str, duration: float) -> list[str]:
    from zeroconf import AddressResolverIPv4, IPVersion

    resolver = AddressResolverIPv4(name)
    if await resolver.async_request(aiozc.zeroconf, duration * 1000):
        return list(resolver.parsed_addresses(IPVersion.V4Only))
    return []


# ----------------------------------------------------------------------------- SSH


@dataclass
class SshSettings:
    user: str | None
    identity: Path | None
    known_hosts: Path
    timeout: float
    config: Sequence[str] | None = None  # None: asyncssh reads ~/.ssh/config


class _KnownHosts:
    """The tool's known_hosts: strict for hosts already in it, trust-on-first-use otherwise."""

    def __init__(self, path: Path) -> None:
        self.path = path
        text = path.read_text() if path.exists() else ""
        self._known = asyncssh.import_known_hosts(text) if text.strip() else None
        self.new_lines: list[str] = []

    def for_host(self, ip: str) -> asyncssh.SSHKnownHosts | None:
        """The keys to verify ``ip`` against, or None (first contact: accept and record)."""
        if self._known is None:
            return None
        keys = self._known.match(ip, ip, SSH_PORT)
        return self._known if any(keys[:2]) or any(keys[3:5]) else None

    def record(self, ip: str, key: asyncssh.SSHKey) -> None:
        line = key.export_public_key("openssh").decode().split()
        self.new_lines.append(f"{ip} {line[0]} {line[1]}")

    def save(self) -> None:
        if not self.new_lines:
            return
        # Only a directory pi-k8s creates (or its own state dir) is made private: the
        # user's --known-hosts may sit in a shared directory such as /tmp.
        paths.ensure_private_dir(self.path.parent)
        existing = self.path.read_text() if self.path.exists() else ""
        prefix = "" if not existing or existing.endswith("\n") else "\n"
        # A new file is created 0600; an existing one keeps the mode its owner gave it.
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        with os.fdopen(fd, "a") as fh:
            fh.write(prefix + "\n".join(self.new_lines) + "\n")
        self.new_lines.clear()


_PREFERRED_HOST_KEY_ALGS = (
    "ssh-ed25519",
    "ecdsa-sha2-nistp256",
    "ecdsa-sha2-nistp384",
    "ecdsa-sha2-nistp521",
    "rsa-sha2-512",
    "rsa-sha2-256",
    "ssh-rsa",
)


def _ssh_reason(exc: BaseException) -> str:
    """The short reason reported for a host SSH could not probe."""
    if isinstance(exc, asyncssh.HostKeyNotVerifiable):
        return "host key changed"
    if isinstance(exc, asyncssh.PermissionDenied):
        return "auth failed"
    if isinstance(exc, ConnectionRefusedError):
        return "refused"
    if isinstance(exc, TimeoutError | asyncio.TimeoutError):
        return "timeout"
    if isinstance(exc, OSError) and exc.errno in {errno.EHOSTUNREACH, errno.ETIMEDOUT}:
        return "timeout"
    if isinstance(exc, asyncssh.Error):
        return f"ssh error: {exc.reason}"
    return f"ssh error: {exc}"


async def ssh_probe(ip: str, settings: SshSettings, known: _KnownHosts) -> dict[str, Any]:
    """Run ``probe.PROBE_SCRIPT`` on ip; the identified fields, or {"ssh_error": reason}."""
    options: dict[str, Any] = {
        "port": SSH_PORT,
        "known_hosts": known.for_host(ip),
        "connect_timeout": settings.timeout,
        "login_timeout": settings.timeout,
        "ignore_encrypted": True,
    }
    if settings.user:
        options["username"] = settings.user
    if settings.identity:
        options["client_keys"] = [str(settings.identity)]
        options["agent_path"] = None
    if settings.config is not None:
        options["config"] = list(settings.config)
    first_contact = options["known_hosts"] is None
    if first_contact:  # record the strongest key the host offers
        options["server_host_key_algs"] = list(_PREFERRED_HOST_KEY_ALGS)
    try:
        async with asyncio.timeout(settings.timeout * 3):
            async with asyncssh.connect(ip, **options) as conn:
                if first_contact:
                    key = conn.get_server_host_key()
                    if key is not None:
                        known.record(ip, key)
                result = await conn.run(probe.PROBE_SCRIPT, encoding=None, check=False)
                user = conn.get_extra_info("username")
    except (OSError, asyncssh.Error, TimeoutError) as exc:
        return {"ssh_error": _ssh_reason(exc)}
    stdout = result.stdout if isinstance(result.stdout, bytes) else b""
    fields = probe.identify(probe.split_sections(stdout))
    fields["ssh_user"] = user
    return fields


def check_identity(path: Path) -> None:
    """Refuse, before any scan, an identity that is not an SSH private key SSH can use.

    asyncssh reads it the way each probe would; a public key, a certificate or any other
    file is a UsageError (exit 2) here instead of an error per host after the sweep.
    """
    hint = "Pass the private key SSH should use, e.g. --identity ~/.ssh/id_ed25519."
    if not path.is_file():
        raise UsageError(f"Identity file {path} does not exist.", hint=hint)
    try:
        asyncssh.read_private_key(str(path))
    except asyncssh.KeyImportError as exc:
        if "passphrase" in str(exc).lower():
            raise UsageError(
                f"Identity file {path} is encrypted; pi-k8s cannot ask for its passphrase.",
                hint=f"Load it into your SSH agent (ssh-add {path}) and leave out --identity.",
            ) from None
        raise UsageError(
            f"Identity file {path} is not an SSH private key ({exc}).",
            hint=hint + " (not the .pub file)",
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"Cannot read identity file {path}: {exc}.", hint=hint) from None


# ----------------------------------------------------------------------------- discover


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
    ssh_config: Sequence[str] | None = None,
    progress: Progress = _noop,
) -> list[PiHost]:
    """Find the hosts on ``subnets`` and identify which are Raspberry Pis.

    ``subnets``: CIDR strings; None means the subnets of this machine's own interfaces.
    ``timeout``: seconds a sweep connect waits; ``ssh_timeout``: seconds for SSH login.
    ``mdns_interfaces``: addresses of this machine to run mDNS on; None means this
    machine's addresses inside ``subnets``; an empty list turns mDNS off.
    ``known_hosts``: pi-k8s's own file (default ``$PI_K8S_STATE_DIR/known_hosts``).
    The machine's own addresses are not probed. Returns every host that answered,
    sorted by address.
    """
    networks = parse_subnets(subnets) if subnets else default_subnets()
    if not networks:
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
        config=ssh_config,
    )
    own = local_addresses()
    if mdns_interfaces is None:
        mdns_interfaces = [str(i.ip) for i in own if any(i.ip in net for net in networks)]
    return asyncio.run(
        _discover(
            networks,
            settings,
            timeout=timeout,
            concurrency=concurrency,
            ssh_concurrency=ssh_concurrency,
            mdns_interfaces=list(mdns_interfaces),
            mdns_duration=mdns_duration,
            exclude={str(i.ip) for i in own},
            progress=progress,
        )
    )


async def _discover(
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
) -> list[PiHost]:
    described = ", ".join(str(n) for n in networks)
    progress(
        f"sweeping {described} (TCP {SSH_PORT})"
        + (f" and browsing mDNS on {', '.join(mdns_interfaces)}" if mdns_interfaces else "")
    )
    alive, mdns_found = await asyncio.gather(
        sweep(networks, timeout=timeout, concurrency=concurrency, exclude=exclude),
        mdns_browse(mdns_interfaces, duration=mdns_duration),
    )
    candidates: dict[str, Candidate] = {}

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
    progress(f"{len(candidates)} hosts answered; probing them over SSH")

    known = _KnownHosts(settings.known_hosts)
    limit = asyncio.Semaphore(ssh_concurrency)

    async def identify(c: Candidate) -> PiHost:
        async with limit:
            fields = await ssh_probe(c.ip, settings, known)
        return _host(c, fields)

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


# ----------------------------------------------------------------------------- files


def write_hosts_json(hosts: Sequence[PiHost], path: Path) -> None:
    """Save hosts as ``pi-k8s discover --json`` prints them: a JSON list of PiHost dicts.

    ``inventory.load_hosts`` reads it back (``pi-k8s inventory --from``).
    """
    paths.write_atomic(path, json.dumps([h.to_dict() for h in hosts], indent=2) + "\n")
