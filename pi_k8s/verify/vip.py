"""API VIP checks: the VIP answers k3s's ``/ping`` on 6443 from every node and from the
controller, and exactly one server holds it (keepalived, roles/k3s_vip)."""

from __future__ import annotations

from typing import Any

from pi_k8s.verify.model import FAIL, PASS, CheckResult, HostTarget

API_PORT = 6443

CONTROLLER = "controller"
# A server's IPv4 addresses: the VIP among them means it holds the VIP.
ADDRESSES = "ip -o -4 addr show"


def ping_command(vip: str) -> str:
    """The command a node runs to ask the API for ``/ping`` through the VIP."""
    return f"curl --silent --insecure --max-time 3 https://{vip}:{API_PORT}/ping"


def vip_host_checks(host: Any, t: HostTarget, vip: str) -> tuple[list[CheckResult], bool]:
    """(checks, whether this host holds the VIP) for one node."""
    url = f"https://{vip}:{API_PORT}/ping"
    out = host.run(ping_command(vip))
    answered = out.rc == 0 and out.stdout.strip() == "pong"
    results = [
        CheckResult(
            t.name,
            "API VIP answers",
            PASS if answered else FAIL,
            f"{url}: pong" if answered else f"{url}: {(out.stderr or out.stdout).strip()[:120]}",
            ""
            if answered
            else "The VIP does not reach a working API from this node: check keepalived on "
            "the servers (journalctl -u keepalived) and that the VIP is on this node's LAN.",
        )
    ]
    held = False
    if t.role == "server":
        addrs = host.run(ADDRESSES)
        held = any(f" {vip}/" in line for line in addrs.stdout.splitlines())
    return results, held


def vip_cluster_checks(vip: str, holders: list[str]) -> list[CheckResult]:
    """The controller's /ping through the VIP, and the one server that holds it."""
    from pi_k8s.status.api import ping  # the status package loads asyncssh: only when run

    ok, detail = ping(vip)
    results = [
        CheckResult(
            CONTROLLER,
            "API VIP answers",
            PASS if ok else FAIL,
            f"https://{vip}:{API_PORT}/ping: {detail}",
            ""
            if ok
            else "The controller cannot reach the API through the VIP: check that it is on "
            "the servers' LAN and that keepalived runs on the servers.",
        )
    ]
    if len(holders) == 1:
        results.append(CheckResult(vip, "API VIP holder", PASS, f"held by {holders[0]}"))
    else:
        results.append(
            CheckResult(
                vip,
                "API VIP holder",
                FAIL,
                f"held by {', '.join(holders)}" if holders else "held by no server",
                "Exactly one server must hold the VIP. None: keepalived is down or every "
                "server's k3s API fails its health check. Several: VRRP adverts do not pass "
                "between the servers (set api_vip_unicast: true where multicast is dropped).",
            )
        )
    return results
