"""Checks on the chosen nodes: the spec's subnet and API VIP (refusals) and hardware warnings."""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence

from pi_k8s.inventory.decisions import RoleDecision
from pi_k8s.inventory.roles import FAST_ROOTS
from pi_k8s.inventory.selection import label
from pi_k8s.lb import parse_pool
from pi_k8s.models import PiHost
from pi_k8s.spec import ClusterSpec, spec_problem


def check_addresses(spec: ClusterSpec, nodes: Sequence[PiHost]) -> None:
    for h in nodes:
        if spec.api_vip is not None and h.ip == str(spec.api_vip):
            raise spec_problem(
                spec,
                "api_vip",
                f"api_vip {spec.api_vip} is the address of node {label(h)}.",
                hint="The VIP must be a free address of the servers' LAN that no host uses.",
            )
    if spec.lb_pool is not None:
        first, last = parse_pool(spec.lb_pool)
        for h in nodes:
            if first <= ipaddress.IPv4Address(h.ip) <= last:
                raise spec_problem(
                    spec,
                    "lb_pool",
                    f"lb_pool {spec.lb_pool} holds the address of node {label(h)}.",
                    hint="MetalLB would hand a node's address to a Service: pick a pool of "
                    "free addresses no host uses.",
                )
    subnet = spec.subnet
    if subnet is None:
        return
    for h in nodes:
        if ipaddress.IPv4Address(h.ip) not in subnet:
            raise spec_problem(
                spec,
                "subnet",
                f"node {label(h)} is outside {subnet}.",
                hint="Fix subnet, or leave the host out with hosts.exclude.",
            )


# -------------------------------------------------------------------------- warnings


def hardware_warnings(spec: ClusterSpec, decisions: Sequence[RoleDecision]) -> list[str]:
    out = []
    nodes = [d.host for d in decisions]
    armhf = [str(h.hostname) for h in nodes if h.userland_arch == "armhf"]
    arm64 = [str(h.hostname) for h in nodes if h.userland_arch == "arm64"]
    if armhf and arm64:
        out.append(
            f"32-bit userland (armhf) on {', '.join(armhf)} mixed with arm64 on "
            f"{', '.join(arm64)}: every image must be built for both; reinstall a 64-bit "
            "OS on the armhf hosts if you can."
        )
    if spec.servers > 1:
        slow = [
            str(d.host.hostname)
            for d in decisions
            if d.role == "server" and d.host.root_kind not in FAST_ROOTS
        ]
        if slow:
            out.append(
                f"etcd servers without an SSD/NVMe/USB root: {', '.join(slow)}; "
                "k3s warns that SD cards cannot take etcd's write load."
            )
    return out
