"""k3s_lb_pool_problems: what is wrong with a MetalLB pool, seen from one cluster host.

roles/k3s_lb's preflight runs it on every host of the cluster before anything changes::

    "{{ pool | k3s_lb_pool_problems(inventory_hostname, address, ansible_facts, vip, dhcp) }}"

The pool (a CIDR or FIRST-LAST) must lie inside the subnet of the interface that holds
the host's address (MetalLB's L2 mode answers ARP for it on the nodes' own LAN), must not
hold the host's address, and must overlap neither the API VIP nor the DHCP range. The
controller checks the same without the subnet (pi_k8s.lb); this file stands alone, as
Ansible loads it without pi_k8s.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from typing import Any

Span = tuple[ipaddress.IPv4Address, ipaddress.IPv4Address]


def _span(text: str) -> Span:
    if "/" in text:
        net = ipaddress.IPv4Network(text.strip(), strict=True)
        return net[0], net[-1]
    first, sep, last = text.partition("-")
    if not sep:
        raise ValueError(f"{text!r} is not FIRST-LAST")
    a, b = ipaddress.IPv4Address(first.strip()), ipaddress.IPv4Address(last.strip())
    if b < a:
        raise ValueError(f"{text!r} ends before it starts")
    return a, b


def _network(facts: Mapping[str, Any], address: str) -> tuple[str, ipaddress.IPv4Network] | None:
    """(interface, network) of the interface holding ``address``, from Ansible's facts."""
    for name in facts.get("interfaces", []) or []:
        iface = facts.get(str(name).replace("-", "_")) or {}
        if not isinstance(iface, Mapping):
            continue
        for ip in [iface.get("ipv4") or {}, *(iface.get("ipv4_secondaries") or [])]:
            if isinstance(ip, Mapping) and ip.get("address") == address and ip.get("netmask"):
                return str(name), ipaddress.IPv4Network(f"{address}/{ip['netmask']}", strict=False)
    return None


def k3s_lb_pool_problems(
    pool: str,
    host: str,
    address: str,
    facts: Mapping[str, Any],
    vip: str = "",
    dhcp: str = "",
) -> list[str]:
    try:
        first, last = _span(pool)
    except ValueError as exc:
        return [f"The LB pool {pool!r} is not a CIDR or FIRST-LAST ({exc})."]
    out = []
    found = _network(facts, address)
    if found is None:
        out.append(f"{host} has no interface holding its address {address}.")
    elif first not in found[1] or last not in found[1]:
        out.append(
            f"The LB pool {pool} is not inside {host}'s subnet {found[1]} ({found[0]}): "
            "MetalLB announces the pool with ARP on the nodes' own LAN, so pick free "
            f"addresses inside {found[1]}."
        )
    if first <= ipaddress.IPv4Address(address) <= last:
        out.append(f"The LB pool {pool} holds the address of {host} ({address}).")
    if vip and first <= ipaddress.IPv4Address(vip) <= last:
        out.append(f"The LB pool {pool} overlaps the API VIP {vip}.")
    if dhcp:
        try:
            d_first, d_last = _span(dhcp)
        except ValueError as exc:
            out.append(f"The DHCP range {dhcp!r} is not FIRST-LAST ({exc}).")
        else:
            if first <= d_last and d_first <= last:
                out.append(f"The LB pool {pool} overlaps the DHCP range {dhcp}.")
    return out


class FilterModule:
    def filters(self) -> dict[str, object]:
        return {"k3s_lb_pool_problems": k3s_lb_pool_problems}
