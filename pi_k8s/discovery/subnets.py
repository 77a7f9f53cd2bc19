"""Which subnets to search: CIDR arguments checked, or this machine's own interfaces."""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence

from pi_k8s.errors import UsageError

MAX_HOSTS = 65536  # a /16; larger sweeps are refused


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
