"""The kernel neighbour table after the sweep: the MAC of each host that answered ARP."""

from __future__ import annotations

import ipaddress
import subprocess
from collections.abc import Sequence
from pathlib import Path

from pi_k8s import probe


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
