#!/usr/bin/python
"""Look at a proposed API VIP from one server: its interface, subnet, and who answers on it."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: k3s_vip_probe
short_description: Read-only checks of an API virtual IP from one server.
description:
  - Finds the interface that holds the node's address (or takes I(interface)), and its
    IPv4 network.
  - Says whether the VIP is inside that network, inside I(dhcp_range), already one of this
    host's addresses, and whether anything on the link answers it (an ARP request on the
    interface, then an ICMP echo request), with the MAC or address that answered.
  - Changes nothing; supports check mode. ARP and ICMP need root (raw sockets).
options:
  address:
    description: The VIP (IPv4).
    type: str
    required: true
  node_address:
    description: The address other hosts reach this node by.
    type: str
    required: true
  interface:
    description: Interface for the VIP; empty = the one holding I(node_address).
    type: str
    default: ""
  dhcp_range:
    description: The LAN's DHCP range as C(FIRST-LAST); empty = none given.
    type: str
    default: ""
  timeout:
    description: Seconds to wait for an ARP or ICMP answer.
    type: float
    default: 1.0
"""

RETURN = r"""
interface:
  description: The interface for the VIP ("" when none holds the node's address).
  type: str
  returned: always
network:
  description: The IPv4 network of that interface (CIDR), "" when unknown.
  type: str
  returned: always
prefix:
  description: The network's prefix length (0 when unknown).
  type: int
  returned: always
in_subnet:
  description: Whether the VIP is inside the interface's network.
  type: bool
  returned: always
in_dhcp_range:
  description: Whether the VIP is inside dhcp_range.
  type: bool
  returned: always
held_here:
  description: Whether the VIP is already one of this host's addresses.
  type: bool
  returned: always
answered_by:
  description: What answered the VIP ("ARP reply from MAC", "ICMP echo reply"), "" for nothing.
  type: str
  returned: always
"""

import ipaddress
import json
import os
import select
import socket
import struct
import time

from ansible.module_utils.basic import AnsibleModule


def _addresses(module):
    rc, out, err = module.run_command(["ip", "-j", "-4", "addr", "show"], check_rc=False)
    if rc != 0:
        module.fail_json(msg=f"ip -j -4 addr show failed: {err.strip()}")
    found = []  # (interface, address, prefix)
    for link in json.loads(out or "[]"):
        for info in link.get("addr_info", []):
            if info.get("family") == "inet":
                found.append((link["ifname"], info["local"], int(info["prefixlen"])))
    return found


def _arp(interface, src, dst, timeout):
    """The MAC that answers an ARP request for ``dst`` on ``interface``, or ""."""
    sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0806))
    try:
        sock.bind((interface, 0))
        mac = sock.getsockname()[4][:6]
        request = (
            b"\xff" * 6
            + mac
            + struct.pack("!HHHBBH", 0x0806, 1, 0x0800, 6, 4, 1)
            + mac
            + socket.inet_aton(src)
            + b"\x00" * 6
            + socket.inet_aton(dst)
        )
        want = socket.inet_aton(dst)
        for _ in range(2):
            sock.send(request)
            deadline = time.monotonic() + timeout / 2
            while (left := deadline - time.monotonic()) > 0:
                ready, _, _ = select.select([sock], [], [], left)
                if not ready:
                    break
                frame = sock.recv(128)
                if len(frame) >= 42 and frame[20:22] == b"\x00\x02" and frame[28:32] == want:
                    return ":".join(f"{b:02x}" for b in frame[22:28])
        return ""
    finally:
        sock.close()


def _checksum(data):
    if len(data) % 2:
        data += b"\x00"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    total = (total >> 16) + (total & 0xFFFF)
    total += total >> 16
    return ~total & 0xFFFF


def _ping(dst, timeout):
    """Whether ``dst`` answers one ICMP echo request."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
    try:
        ident = os.getpid() & 0xFFFF
        header = struct.pack("!BBHHH", 8, 0, 0, ident, 1)
        payload = b"pi-k8s vip probe"
        packet = struct.pack("!BBHHH", 8, 0, _checksum(header + payload), ident, 1) + payload
        sock.sendto(packet, (dst, 0))
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            ready, _, _ = select.select([sock], [], [], left)
            if not ready:
                return False
            data, (source, _) = sock.recvfrom(1024)
            ihl = (data[0] & 0x0F) * 4
            kind, _, _, rid, _ = struct.unpack("!BBHHH", data[ihl : ihl + 8])
            if source == dst and kind == 0 and rid == ident:
                return True
        return False
    finally:
        sock.close()


def _in_range(vip, text, module):
    if not text:
        return False
    try:
        first, last = (ipaddress.IPv4Address(p.strip()) for p in text.split("-", 1))
    except ValueError:
        module.fail_json(msg=f"dhcp_range {text!r} is not FIRST-LAST (e.g. 192.168.1.100-192.168.1.199)")
    return first <= vip <= last


def main():
    module = AnsibleModule(
        argument_spec={
            "address": {"type": "str", "required": True},
            "node_address": {"type": "str", "required": True},
            "interface": {"type": "str", "default": ""},
            "dhcp_range": {"type": "str", "default": ""},
            "timeout": {"type": "float", "default": 1.0},
        },
        supports_check_mode=True,
    )
    p = module.params
    try:
        vip = ipaddress.IPv4Address(p["address"])
    except ValueError:
        module.fail_json(msg=f"{p['address']!r} is not an IPv4 address")
    addresses = _addresses(module)
    interface, network = p["interface"], None
    for ifname, address, prefix in addresses:
        if (interface and ifname == interface) or (not interface and address == p["node_address"]):
            interface = ifname
            network = ipaddress.IPv4Network(f"{address}/{prefix}", strict=False)
            if address == p["node_address"]:
                break
    held = any(address == str(vip) for _, address, _ in addresses)
    result = {
        "changed": False,
        "interface": interface if network else "",
        "network": str(network) if network else "",
        "prefix": network.prefixlen if network else 0,
        "in_subnet": bool(network) and vip in network,
        "in_dhcp_range": _in_range(vip, p["dhcp_range"], module),
        "held_here": held,
        "answered_by": "",
    }
    if network and not held and result["in_subnet"]:
        mac = _arp(interface, p["node_address"], str(vip), p["timeout"])
        if mac:
            result["answered_by"] = f"ARP reply from {mac}"
        elif _ping(str(vip), p["timeout"]):
            result["answered_by"] = "ICMP echo reply"
    module.exit_json(**result)


if __name__ == "__main__":
    main()
