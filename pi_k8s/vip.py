"""The API VIP (``cluster_api_vip``) checked on the controller before Ansible starts.

What the controller can tell from the inventory alone: the VIP is an IPv4 address, it is
not the ``ansible_host`` of any member, and it is outside ``cluster_dhcp_range``
(``FIRST-LAST``) when one is given. What needs the LAN (the servers' subnet, nothing else
answering the address) is checked by site.yml's first play on the servers
(roles/k3s_vip/tasks/validate.yml), which also changes nothing.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pi_k8s.errors import SpecError

VIP_VAR = "cluster_api_vip"
DHCP_VAR = "cluster_dhcp_range"
# Who holds the VIP: keepalived on the servers (roles/k3s_vip) or kube-vip's static Pod.
MODE_VAR = "cluster_api_vip_mode"
MODES = ("keepalived", "kube-vip")


def parse_range(text: str) -> tuple[ipaddress.IPv4Address, ipaddress.IPv4Address]:
    """``"192.168.1.100-192.168.1.199"`` → (first, last); ValueError when it is not one."""
    first, sep, last = text.partition("-")
    if not sep:
        raise ValueError(f"{text!r} is not FIRST-LAST")
    a, b = ipaddress.IPv4Address(first.strip()), ipaddress.IPv4Address(last.strip())
    if b < a:
        raise ValueError(f"{text!r} ends before it starts")
    return a, b


def check_inventory(inventory: Path, hostvars: Mapping[str, Mapping[str, Any]]) -> str | None:
    """The inventory's API VIP (None without one); SpecError (exit 3) when it cannot work."""
    values = {str(hv.get(VIP_VAR)) for hv in hostvars.values() if hv.get(VIP_VAR)}
    modes = sorted({str(hv.get(MODE_VAR)) for hv in hostvars.values() if hv.get(MODE_VAR)})
    wrong = [m for m in modes if m not in MODES]
    if wrong or (modes and modes != ["keepalived"] and not values):
        raise SpecError(
            f"{inventory}: {MODE_VAR} {', '.join(wrong or modes)} "
            + ("is neither keepalived nor kube-vip." if wrong else f"needs {VIP_VAR}."),
            hint=f"Set {MODE_VAR}: keepalived (the default) or kube-vip, with {VIP_VAR}.",
        )
    if not values:
        return None
    if len(values) > 1:
        raise SpecError(
            f"{inventory}: {VIP_VAR} differs between hosts ({', '.join(sorted(values))}).",
            hint=f"Set {VIP_VAR} once, in the k3s_cluster group's vars.",
        )
    text = values.pop()
    try:
        vip = ipaddress.IPv4Address(text)
    except ValueError:
        raise SpecError(
            f"{inventory}: {VIP_VAR} {text!r} is not an IPv4 address.",
            hint=f"Give a free address of the servers' LAN, e.g. {VIP_VAR}: 192.168.1.250.",
        ) from None
    same = sorted(h for h, hv in hostvars.items() if str(hv.get("ansible_host", "")) == text)
    if same:
        raise SpecError(
            f"{inventory}: {VIP_VAR} {vip} is the address of {', '.join(same)}.",
            hint="The VIP must be a free address of the servers' subnet that no host uses; "
            "keepalived moves it between the servers.",
        )
    ranges = {str(hv.get(DHCP_VAR)) for hv in hostvars.values() if hv.get(DHCP_VAR)}
    for dhcp in sorted(ranges):
        try:
            first, last = parse_range(dhcp)
        except ValueError as exc:
            raise SpecError(
                f"{inventory}: {DHCP_VAR} {exc}.",
                hint=f"Write the DHCP server's range as FIRST-LAST, e.g. {DHCP_VAR}: "
                "192.168.1.100-192.168.1.199.",
            ) from None
        if first <= vip <= last:
            raise SpecError(
                f"{inventory}: {VIP_VAR} {vip} is inside {DHCP_VAR} {dhcp}.",
                hint="The DHCP server could hand the VIP to another host: pick an address "
                "outside the range, or shrink the range.",
            )
    return str(vip)
