"""Benchmark: `discover()` against `nmap -sn` on a testbed of 10 Pis + 2 other hosts.

Brings up its own testbed ("bench", 10.213.15.0/24), and always takes it down.
For each tool: wall time (median and best of RUNS, neighbour cache flushed before
each run so both start cold), recall (testbed Pis identified as Pis) and false
positives (non-Pi hosts called Pis). nmap's verdict is its MAC vendor lookup; it runs
with -n so it sends no DNS queries off the testbed. Prints figures, asserts nothing.

    sudo .venv/bin/python benchmarks/discover.py
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path

from pi_k8s import discovery
from pi_k8s import testbed as tb

NAME = "bench"
SUBNET = "10.213.15.0/24"
PIS = 10
OTHERS = 2
RUNS = 3


def flush_neighbours() -> None:
    """Forget the testbed's MACs so every run resolves them itself."""
    subprocess.run(["ip", "neigh", "flush", "to", SUBNET], check=False)


def gateway(bed: tb.Testbed) -> str:
    out = subprocess.run(
        ["podman", "network", "inspect", bed.network], capture_output=True, text=True, check=True
    ).stdout
    return str(json.loads(out)[0]["subnets"][0]["gateway"])


def timed(fn: Callable[[], set[str]]) -> tuple[list[float], set[str]]:
    times: list[float] = []
    verdict: set[str] = set()
    for _ in range(RUNS):
        flush_neighbours()
        start = time.perf_counter()
        verdict = fn()
        times.append(time.perf_counter() - start)
    return times, verdict


def main() -> int:
    if os.geteuid() != 0:
        print("needs root (rootful podman testbed)", file=sys.stderr)
        return 6
    state = tempfile.mkdtemp(prefix="pi-k8s-bench-")
    os.environ["PI_K8S_STATE_DIR"] = state
    try:
        print(f"bringing up testbed {NAME}: {PIS} Pis + {OTHERS} others on {SUBNET} …")
        bed = tb.up(PIS, OTHERS, name=NAME, subnet=SUBNET)
        pis = {h.ip for h in bed.hosts if h.kind == "pi"}
        others = {h.ip for h in bed.hosts if h.kind == "other"}
        bridge = gateway(bed)

        def run_discover(mdns: bool) -> Callable[[], set[str]]:
            def run() -> set[str]:
                known = Path(state) / "known_hosts"
                known.unlink(missing_ok=True)  # first contact every run: the slower case
                hosts = discovery.discover(
                    [SUBNET],
                    user="pi",
                    identity=bed.ssh_key,
                    known_hosts=known,
                    mdns_interfaces=[bridge] if mdns else [],
                )
                return {h.ip for h in hosts if h.is_pi and h.model}

            return run

        nmap_up: set[str] = set()

        def run_nmap() -> set[str]:
            """One `nmap -sn`: records the hosts it saw up, returns those whose MAC vendor
            nmap names as Raspberry Pi."""
            xml = subprocess.run(
                ["nmap", "-sn", "-n", SUBNET, "-oX", "-"],
                capture_output=True,
                text=True,
                check=True,
            ).stdout
            found: set[str] = set()
            for host in ET.fromstring(xml).iter("host"):
                ip = mac_vendor = None
                for addr in host.iter("address"):
                    if addr.get("addrtype") == "ipv4":
                        ip = addr.get("addr")
                    elif addr.get("addrtype") == "mac":
                        mac_vendor = addr.get("vendor") or ""
                if ip:
                    nmap_up.add(ip)
                if ip and mac_vendor and "raspberry" in mac_vendor.lower():
                    found.add(ip)
            return found

        rows = []
        for label, fn in (
            ("pi-k8s discover (sweep + SSH identify + mDNS)", run_discover(True)),
            ("pi-k8s discover --no-mdns", run_discover(False)),
            ("nmap -sn -n (MAC vendor = Raspberry)", run_nmap),
        ):
            times, verdict = timed(fn)
            recall = len(verdict & pis) / len(pis)
            false_pos = sorted(verdict - pis)
            rows.append((label, statistics.median(times), min(times), recall, false_pos))

        print()
        print(f"{'tool':<48} {'median s':>9} {'best s':>7} {'recall':>7}  false positives")
        for label, median, best, recall, fps in rows:
            fp = f"{len(fps)} {fps}" if fps else "0"
            print(f"{label:<48} {median:>9.2f} {best:>7.2f} {recall:>7.0%}  {fp}")
        print()
        print(
            f"nmap -sn hosts up: {len(nmap_up)} (testbed hosts {len(nmap_up & (pis | others))}"
            f"/{len(pis | others)}, plus {sorted(nmap_up - pis - others)})"
        )
        print(
            f"testbed: {len(pis)} Pis, {len(others)} others; {RUNS} runs each, cold neighbour cache"
        )
        return 0
    finally:
        print(f"taking testbed {NAME} down", file=sys.stderr)
        tb.down(NAME)


if __name__ == "__main__":
    raise SystemExit(main())
