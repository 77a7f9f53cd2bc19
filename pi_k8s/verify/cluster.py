"""Cluster checks, run from the first server with ``k3s kubectl``: nodes, pods, DNS."""

from __future__ import annotations

from typing import Any

from pi_k8s.verify.model import (
    DNS_SMOKE_IMAGE,
    FAIL,
    PASS,
    SKIP,
    WARN,
    CheckResult,
    HostTarget,
    outcome,
)
from pi_k8s.verify.parsers import parse_nodes, parse_nslookup, parse_pods


def cluster_checks(
    server: Any,
    server_name: str,
    targets: list[HostTarget],
    *,
    version: str | None,
    workloads: bool,
    dns_image: str | None = DNS_SMOKE_IMAGE,
    dns_why_not: str = "",
) -> list[CheckResult]:
    results: list[CheckResult] = []
    out = server.run("k3s kubectl get nodes -o json")
    if out.rc != 0:
        return [
            CheckResult(
                server_name,
                "cluster nodes",
                FAIL,
                out.stderr.strip()[:200],
                "The API server does not answer: check the k3s service on it.",
            )
        ]
    nodes = {n.name: n for n in parse_nodes(out.stdout)}
    for t in targets:
        node = nodes.get(t.name)
        if node is None:
            results.append(
                CheckResult(
                    t.name,
                    "node registered",
                    FAIL,
                    "not a node",
                    "The host never joined: check k3s-agent's journal for "
                    "token or server-address errors, and port 6443 reachability.",
                )
            )
            continue
        ok = node.ready == "True"
        results.append(
            outcome(
                t,
                "node Ready",
                ok,
                f"{node.ready} ({node.reason})",
                "The node stopped reporting: is its k3s service running and can it "
                "reach the server on 6443?",
            )
        )
    versions = sorted({n.kubelet_version for n in nodes.values()})
    want = version or (versions[0] if versions else "")
    results.append(
        CheckResult(
            server_name,
            "node versions",
            PASS if versions == [want] else FAIL,
            ", ".join(versions),
            ""
            if versions == [want]
            else "Nodes run different versions: finish the upgrade with `pi-k8s bootstrap`.",
        )
    )
    if not workloads:
        for name in ("kube-system pods", "cluster DNS"):
            results.append(CheckResult(server_name, name, SKIP, "--skip-workloads"))
        return results
    pods = server.run("k3s kubectl get pods -n kube-system -o json")
    if pods.rc != 0:
        results.append(
            CheckResult(
                server_name,
                "kube-system pods",
                FAIL,
                pods.stderr.strip()[:200],
                "Pass --skip-workloads where no images can be pulled.",
            )
        )
        return results
    bad = [(n, p) for n, p in parse_pods(pods.stdout) if p not in {"Running", "Succeeded"}]
    results.append(
        CheckResult(
            server_name,
            "kube-system pods",
            PASS if not bad else FAIL,
            ", ".join(f"{n}={p}" for n, p in bad) or "all running",
            ""
            if not bad
            else "Pods are not running: `k3s kubectl -n kube-system describe pod` "
            "(image pulls need internet or the airgap images).",
        )
    )
    results.append(check_dns(server, server_name, dns_image, dns_why_not))
    return results


# A short-lived pod that resolves the API server's service name through CoreDNS.
def dns_smoke_command(image: str) -> str:
    return (
        "k3s kubectl run pi-k8s-dns-smoke --rm -i --restart=Never --quiet "
        f"--image={image} --pod-running-timeout=120s -- nslookup kubernetes.default"
    )


def check_dns(
    server: Any, server_name: str, image: str | None = DNS_SMOKE_IMAGE, why_not: str = ""
) -> CheckResult:
    """Resolve kubernetes.default from a pod of ``image``; no image: a warning saying why."""
    if image is None:
        return CheckResult(
            server_name,
            "cluster DNS",
            WARN,
            f"not checked: {why_not}",
            "Put the release's k3s-airgap-images-<arch>.tar.zst and k3s-images.txt in the "
            "airgap directory to have it checked.",
        )
    out = server.run(dns_smoke_command(image))
    address = parse_nslookup(out.stdout) if out.rc == 0 else None
    if address:
        return CheckResult(server_name, "cluster DNS", PASS, f"kubernetes.default → {address}")
    detail = (out.stderr.strip() or out.stdout.strip() or f"rc={out.rc}").splitlines()[-1][:200]
    return CheckResult(
        server_name,
        "cluster DNS",
        FAIL,
        detail,
        "A pod could not resolve kubernetes.default: check the coredns pod in kube-system and "
        f"that {image} can be pulled (or pass --skip-workloads).",
    )
