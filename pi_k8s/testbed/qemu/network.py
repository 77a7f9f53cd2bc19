"""The VMs' network: a Linux bridge, one tap per VM, and a rule that keeps them on it."""

from __future__ import annotations

import hashlib
import ipaddress
import re
import shutil
import subprocess

from pi_k8s.errors import TestbedError
from pi_k8s.testbed.qemu.tools import run


def bridge_name(name: str) -> str:
    return "pkv" + hashlib.sha256(name.encode()).hexdigest()[:8]


def _tap(name: str, index: int) -> str:
    return f"{bridge_name(name)}t{index}"


def _ip(*args: str, check: bool = True) -> subprocess.CompletedProcess[bytes]:
    proc = subprocess.run(["ip", *args], capture_output=True, check=False)
    if check and proc.returncode != 0:
        raise TestbedError(f"ip {' '.join(args)} failed: {proc.stderr.decode().strip()}")
    return proc


def _link_exists(dev: str) -> bool:
    return _ip("link", "show", "dev", dev, check=False).returncode == 0


def _reject_rule(bridge: str) -> list[str]:
    return [
        "FORWARD",
        "-i",
        bridge,
        "!",
        "-o",
        bridge,
        "-m",
        "comment",
        "--comment",
        "pi-k8s test VMs stay on their subnet",
        "-j",
        "REJECT",
    ]


def ensure_bridge(name: str, net: ipaddress.IPv4Network) -> str:
    bridge = bridge_name(name)
    gateway = f"{next(net.hosts())}/{net.prefixlen}"
    if not _link_exists(bridge):
        for route in _ip("-4", "route", "show", str(net)).stdout.decode().splitlines():
            raise TestbedError(
                f"Subnet {net} is already routed on this machine ({route.strip()}).",
                hint="Pass another --subnet, or take down the testbed that uses it.",
            )
        _ip("link", "add", bridge, "type", "bridge")
        _ip("addr", "add", gateway, "dev", bridge)
    _ip("link", "set", bridge, "up")
    check = subprocess.run(["iptables", "-C", *_reject_rule(bridge)], capture_output=True)
    if check.returncode != 0:
        run(["iptables", "-I", *_reject_rule(bridge)], "iptables (isolating the VMs)")
    return bridge


def ensure_tap(name: str, index: int) -> str:
    tap = _tap(name, index)
    if not _link_exists(tap):
        _ip("tuntap", "add", "dev", tap, "mode", "tap")
    _ip("link", "set", tap, "master", bridge_name(name))
    _ip("link", "set", tap, "up")
    return tap


def remove_network(name: str) -> int:
    removed = 0
    bridge = bridge_name(name)
    out = _ip("-o", "link", "show", check=False).stdout.decode()
    for dev in re.findall(rf"^\d+: ({bridge}t\d+)[:@]", out, flags=re.M):
        _ip("link", "del", dev, check=False)
        removed += 1
    if shutil.which("iptables"):
        while (
            subprocess.run(
                ["iptables", "-D", *_reject_rule(bridge)], capture_output=True
            ).returncode
            == 0
        ):
            pass
    if _link_exists(bridge):
        _ip("link", "del", bridge, check=False)
        removed += 1
    return removed
