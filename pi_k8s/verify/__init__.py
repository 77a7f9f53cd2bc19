"""Prove a k3s cluster on Pis is healthy: testinfra checks → list[CheckResult].

Host checks run on every inventory host through testinfra's ansible backend (the same
connection settings as bootstrap), in parallel across hosts; what they read on a host comes
from one command there (``batched``, which runs ``reader``). Cluster checks run from the
first server with ``k3s kubectl``. With an API VIP, every node and the controller reach
the API through it and exactly one server holds it (``vip``). Each failure carries the
likely cause and the fix. The parsers are pure and tested from fixtures.

The package: ``model`` (constants, targets, results), ``parsers`` (pure), ``hosts`` (host
checks), ``cluster`` (cluster checks), ``vip`` (API VIP checks), ``targets`` (the
inventory's hosts), ``batched`` and ``reader`` (each host's one read); ``verify()`` here
runs them all. The JUnit rendering of a report is pi_k8s.render.junit.
"""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from pi_k8s import paths
from pi_k8s.verify.batched import BatchedHost, host_reads
from pi_k8s.verify.cluster import check_dns as check_dns
from pi_k8s.verify.cluster import cluster_checks as cluster_checks
from pi_k8s.verify.cluster import dns_smoke_command as dns_smoke_command
from pi_k8s.verify.hosts import Check as Check
from pi_k8s.verify.hosts import check_cgroups as check_cgroups
from pi_k8s.verify.hosts import check_disk as check_disk
from pi_k8s.verify.hosts import check_error as check_error
from pi_k8s.verify.hosts import check_k3s_binary as check_k3s_binary
from pi_k8s.verify.hosts import check_k3s_checksum as check_k3s_checksum
from pi_k8s.verify.hosts import check_modes as check_modes
from pi_k8s.verify.hosts import check_modules as check_modules
from pi_k8s.verify.hosts import check_pi as check_pi
from pi_k8s.verify.hosts import check_ports as check_ports
from pi_k8s.verify.hosts import check_service as check_service
from pi_k8s.verify.hosts import check_swap as check_swap
from pi_k8s.verify.hosts import check_sysctls as check_sysctls
from pi_k8s.verify.hosts import check_time as check_time
from pi_k8s.verify.hosts import error_text
from pi_k8s.verify.hosts import host_checks as host_checks
from pi_k8s.verify.model import (
    DEFAULT_MIN_FREE_MB,
    DNS_SMOKE_IMAGE,
    FAIL,
    K3S_BINARY,
    K3S_CONFIG,
    K3S_SHA256_RECORD,
    PASS,
    REQUIRED_CONTROLLERS,
    REQUIRED_MODULES,
    REQUIRED_SYSCTLS,
    SKIP,
    SOC_TEMP_WARN_C,
    WARN,
    CheckResult,
    HostTarget,
    NodeStatus,
    VerifyReport,
)
from pi_k8s.verify.parsers import THROTTLE_BITS as THROTTLE_BITS
from pi_k8s.verify.parsers import decode_throttled as decode_throttled
from pi_k8s.verify.parsers import parse_controllers as parse_controllers
from pi_k8s.verify.parsers import parse_nodes as parse_nodes
from pi_k8s.verify.parsers import parse_nslookup as parse_nslookup
from pi_k8s.verify.parsers import parse_pods as parse_pods
from pi_k8s.verify.parsers import parse_proc_cgroups as parse_proc_cgroups
from pi_k8s.verify.targets import load_targets as load_targets
from pi_k8s.verify.vip import vip_cluster_checks, vip_host_checks

__all__ = [
    "DEFAULT_MIN_FREE_MB",
    "DNS_SMOKE_IMAGE",
    "FAIL",
    "K3S_BINARY",
    "K3S_CONFIG",
    "K3S_SHA256_RECORD",
    "PASS",
    "REQUIRED_CONTROLLERS",
    "REQUIRED_MODULES",
    "REQUIRED_SYSCTLS",
    "SKIP",
    "SOC_TEMP_WARN_C",
    "THROTTLE_BITS",
    "WARN",
    "Check",
    "CheckResult",
    "HostTarget",
    "NodeStatus",
    "VerifyReport",
    "check_cgroups",
    "check_disk",
    "check_dns",
    "check_error",
    "check_k3s_binary",
    "check_k3s_checksum",
    "check_modes",
    "check_modules",
    "check_pi",
    "check_ports",
    "check_service",
    "check_swap",
    "check_sysctls",
    "check_time",
    "cluster_checks",
    "decode_throttled",
    "dns_smoke_command",
    "host_checks",
    "load_targets",
    "parse_controllers",
    "parse_nodes",
    "parse_nslookup",
    "parse_pods",
    "parse_proc_cgroups",
    "verify",
]


def verify(
    inventory: Path,
    *,
    workloads: bool = True,
    min_free_mb: int = DEFAULT_MIN_FREE_MB,
    on_host_done: Callable[[str], None] | None = None,
    version: str | None = None,
    dns_image: str | None = DNS_SMOKE_IMAGE,
    dns_why_not: str = "",
) -> VerifyReport:
    """Check every host and the cluster.

    ``dns_image`` runs the DNS smoke test; ``None`` skips it with a warning giving
    ``dns_why_not`` (an offline LAN with no busybox image to run).

    ``version`` is the k3s release every node must run. ``None`` takes the inventory's
    ``cluster_k3s_version``; ``""`` expects no particular one (only one for all nodes),
    e.g. after `bootstrap --k3s-channel`, where the channel chose it.
    """
    import testinfra

    targets, variables = load_targets(inventory)
    if version is None:
        version = variables.get("cluster_k3s_version") or None
    version = version or None
    vip = str(variables.get("cluster_api_vip") or "") or None
    holders: list[str] = []
    # testinfra reads ansible.cfg (ssh args) and calls ansible-inventory from PATH.
    os.environ.setdefault("ANSIBLE_CONFIG", str(paths.content_dir() / "ansible.cfg"))
    bindir = str(Path(sys.executable).parent)
    if shutil.which("ansible-inventory") is None:
        os.environ["PATH"] = bindir + os.pathsep + os.environ.get("PATH", "")

    def one(t: HostTarget) -> list[CheckResult]:
        # Whatever goes wrong on one host is a failure of that host, never of the report.
        try:
            host = testinfra.get_host(f"ansible://{t.name}", ansible_inventory=str(inventory))
            # Root reads what k3s keeps private (k3s.yaml, config files), as bootstrap's become.
            with host.sudo():
                # One command reads all the checks need (pi_k8s.verify.batched).
                batched = BatchedHost(host, host_reads(t, vip), python=t.python)
                res = host_checks(batched, t, version=version, min_free_mb=min_free_mb)
                if vip:
                    vip_res, held = vip_host_checks(batched, t, vip)
                    res += vip_res
                    if held:
                        holders.append(t.name)
        except Exception as exc:
            res = [check_error(t, "reachable", exc)]
        if on_host_done:
            on_host_done(t.name)
        return res

    def cluster() -> list[CheckResult]:
        first = targets[0]
        try:
            # sudo=True: a Host of its own, always root. testinfra caches one Host per
            # arguments, and `with host.sudo()` sets the Host, not the thread: rpi-1's host
            # checks run beside these on the other one.
            server = testinfra.get_host(
                f"ansible://{first.name}", ansible_inventory=str(inventory), sudo=True
            )
            return list(
                cluster_checks(
                    server,
                    first.name,
                    targets,
                    version=version,
                    workloads=workloads,
                    dns_image=dns_image,
                    dns_why_not=dns_why_not,
                )
            )
        except Exception as exc:
            return [
                CheckResult(
                    first.name,
                    "cluster nodes",
                    FAIL,
                    error_text(exc),
                    "The first server is unreachable.",
                )
            ]

    # The hosts and the cluster (from the first server) are checked side by side; the
    # report keeps the order: hosts, the VIP, the cluster.
    results: list[CheckResult] = []
    with ThreadPoolExecutor(max_workers=min(16, len(targets)) + 1) as pool:
        cluster_results = pool.submit(cluster)
        for res in pool.map(one, targets):
            results.extend(res)
        if vip:
            results.extend(vip_cluster_checks(vip, sorted(holders)))
        results.extend(cluster_results.result())
    return VerifyReport(results)
