"""`pi-k8s discover` on the session testbed: 3 Pi hosts + 1 non-Pi on its own /24.

Everything here is real: the TCP sweep, the kernel neighbour table, SSH into the
containers, and mDNS on the testbed bridge. Traffic goes only to the testbed subnet.
"""

from __future__ import annotations

import ipaddress
import json
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import asyncssh
import pytest
from typer.testing import CliRunner

from pi_k8s import discovery, pi_identity
from pi_k8s import testbed as tb
from pi_k8s.cli import app
from pi_k8s.inventory import load_hosts
from pi_k8s.models import PiHost

pytestmark = pytest.mark.testbed

runner = CliRunner()


def bridge_address(bed: tb.Testbed) -> str:
    """The host's own address on the testbed bridge: the only place mDNS may run."""
    info = json.loads(
        subprocess.run(
            ["podman", "network", "inspect", bed.network],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    )[0]
    return str(info["subnets"][0]["gateway"])


def run_discover(bed: tb.Testbed, known_hosts: Path, *extra: str) -> tuple[int, str, str]:
    args = [
        "discover",
        "--subnet",
        bed.subnet,
        "--user",
        "pi",
        "--known-hosts",
        str(known_hosts),
        "--mdns-interface",
        bridge_address(bed),
        *extra,
    ]
    if "--identity" not in extra:
        args += ["--identity", str(bed.ssh_key)]
    result = runner.invoke(app, args)
    return result.exit_code, result.stdout, result.stderr


def discover_json(bed: tb.Testbed, known_hosts: Path, *extra: str) -> dict[str, dict[str, Any]]:
    code, out, err = run_discover(bed, known_hosts, "--json", *extra)
    assert code == 0, out + err
    return {h["ip"]: h for h in json.loads(out)}


def profile_for(model: str | None) -> pi_identity.PiProfile:
    return next(p for p in pi_identity.PI_PROFILES if p.model == model)


def memtotal_mb(board_mb: int) -> int:
    """What the testbed's /proc/meminfo reports for a board (pi_identity.meminfo)."""
    return board_mb - 160 if board_mb > 1024 else board_mb - 96


def test_finds_exactly_the_pis_and_lists_the_other_host(
    testbed: tb.Testbed, tmp_path: Path
) -> None:
    hosts = discover_json(testbed, tmp_path / "known_hosts")

    assert set(hosts) == {h.ip for h in testbed.hosts}, "only the testbed's hosts answer"
    pis = [h for h in testbed.hosts if h.kind == "pi"]
    assert len(pis) == 3
    assert {ip for ip, h in hosts.items() if h["is_pi"]} == {h.ip for h in pis}
    for bed_host in pis:
        found = hosts[bed_host.ip]
        profile = profile_for(bed_host.model)
        assert found["ssh_error"] is None
        assert found["hostname"] == bed_host.name
        assert found["mac"] == bed_host.mac
        assert found["oui_match"] is True
        assert found["model"] == bed_host.model
        assert found["compatible"] == list(profile.compatible)
        assert found["revision"] == profile.revision
        assert found["board_memory_mb"] == bed_host.memory_mb == profile.memory_mb
        assert found["memory_mb"] == memtotal_mb(profile.memory_mb)
        assert found["os_id"] == "raspios"  # /etc/rpi-issue is there
        assert found["ssh_user"] == "pi"
        assert found["sources"] == ["tcp", "neighbour", "ssh"]

    (other,) = [h for h in testbed.hosts if h.kind == "other"]
    found = hosts[other.ip]
    assert found["is_pi"] is False
    assert found["ssh_error"] is None, "it answered SSH: listed as not a Pi, not unreachable"
    assert found["hostname"] == "other-1"
    assert found["mac"] == other.mac
    assert found["oui_match"] is False
    assert found["model"] is None
    assert found["os_id"] == "debian"


def test_host_keys_are_recorded_then_enforced(testbed: tb.Testbed, tmp_path: Path) -> None:
    known = tmp_path / "known_hosts"
    discover_json(testbed, known)

    # Trust on first use: one line per host, the very key each container holds.
    recorded = {
        line.split()[0]: line.split(maxsplit=1)[1] for line in known.read_text().splitlines()
    }
    truth = {}
    for line in testbed.known_hosts.read_text().splitlines():
        name, keytype, key = line.split()[:3]
        truth[name] = f"{keytype} {key}"
    assert recorded == {h.ip: truth[h.ip] for h in testbed.hosts}

    # A changed key is an error for that host, and the recorded key is kept.
    victim = testbed.hosts[0]
    impostor = asyncssh.generate_private_key("ssh-ed25519").export_public_key("openssh").decode()
    impostor_line = f"{victim.ip} {' '.join(impostor.split()[:2])}"
    lines = [ln for ln in known.read_text().splitlines() if not ln.startswith(victim.ip + " ")]
    known.write_text("\n".join([*lines, impostor_line]) + "\n")

    hosts = discover_json(testbed, known)
    assert hosts[victim.ip]["ssh_error"] == "host key changed"
    assert hosts[victim.ip]["is_pi"] is True  # the OUI verdict
    assert hosts[victim.ip]["model"] is None
    assert all(h["ssh_error"] is None for ip, h in hosts.items() if ip != victim.ip)
    assert impostor_line in known.read_text().splitlines()


def test_wrong_key_is_reported_as_auth_failed(testbed: tb.Testbed, tmp_path: Path) -> None:
    wrong = tmp_path / "id_wrong"
    asyncssh.generate_private_key("ssh-ed25519").write_private_key(str(wrong))
    wrong.chmod(0o600)

    hosts = discover_json(testbed, tmp_path / "known_hosts", "--identity", str(wrong))

    assert {ip: h["ssh_error"] for ip, h in hosts.items()} == {
        h.ip: "auth failed" for h in testbed.hosts
    }
    # Not probed, so the verdict is the MAC's: the Pis still count, other-1 does not.
    assert {ip for ip, h in hosts.items() if h["is_pi"]} == {
        h.ip for h in testbed.hosts if h.kind == "pi"
    }


@pytest.fixture
def sshd_stopped(testbed: tb.Testbed) -> Iterator[tb.TestbedHost]:
    """rpi-2 with its sshd stopped; started again afterwards, whatever the test did."""
    host = next(h for h in testbed.hosts if h.name == "rpi-2")
    subprocess.run(
        ["podman", "exec", host.container, "systemctl", "stop", "ssh.socket", "ssh.service"],
        check=True,
        capture_output=True,
    )
    try:
        yield host
    finally:
        subprocess.run(
            ["podman", "exec", host.container, "systemctl", "start", "ssh.service"],
            check=True,
            capture_output=True,
        )
        tb.wait_ssh(host.ip, 30.0)


def test_sshd_stopped_is_reported_as_refused(
    testbed: tb.Testbed, sshd_stopped: tb.TestbedHost, tmp_path: Path
) -> None:
    known = tmp_path / "known_hosts"
    hosts = discover_json(testbed, known)

    down = hosts[sshd_stopped.ip]
    assert down["ssh_error"] == "refused"
    assert down["is_pi"] is True  # dc:a6:32… / 2c:cf:67… OUI
    assert down["mac"] == sshd_stopped.mac
    assert "tcp" in down["sources"], "a refused connection still proves the host is there"
    others = {ip: h for ip, h in hosts.items() if ip != sshd_stopped.ip}
    assert {ip for ip, h in others.items() if h["is_pi"] and h["model"]} == {
        h.ip for h in testbed.hosts if h.kind == "pi" and h.ip != sshd_stopped.ip
    }
    assert all(h["ssh_error"] is None for h in others.values())

    # The table a person reads lists it under its own heading, with the reason.
    code, out, err = run_discover(testbed, known)
    assert code == 0, out + err
    assert "# Raspberry Pis (2)" in out
    assert "# Answered but not a Pi (1)" in out
    assert "# Not probed over SSH (1)" in out
    row = next(line for line in out.splitlines() if line.startswith(sshd_stopped.ip + "\t"))
    assert row.split("\t")[1:3] == ["refused", "yes"]


def test_mdns_workstation_and_raspberrypi_local(testbed: tb.Testbed) -> None:
    """A `_workstation._tcp` service published on the bridge, as avahi on Pi OS does.

    The test hosts run no avahi, so this test publishes the record itself with
    python-zeroconf, bound to the bridge address only.
    """
    from zeroconf import IPVersion, ServiceInfo, Zeroconf

    bridge = bridge_address(testbed)
    free_ip = str(ipaddress.ip_network(testbed.subnet)[200])  # no testbed host there
    info = ServiceInfo(
        discovery.WORKSTATION_SERVICE,
        f"rpi-9 [dc:a6:32:aa:bb:cc].{discovery.WORKSTATION_SERVICE}",
        addresses=[socket.inet_aton(free_ip)],
        port=9,
        server="raspberrypi.local.",
    )
    zc = Zeroconf(interfaces=[bridge], ip_version=IPVersion.V4Only)
    try:
        zc.register_service(info)
        import asyncio

        found = asyncio.run(discovery.mdns_browse([bridge], duration=2.0))
    finally:
        zc.unregister_all_services()
        zc.close()

    by_name = {(c.hostname, c.ip, c.mac) for c in found}
    assert ("rpi-9", free_ip, "dc:a6:32:aa:bb:cc") in by_name  # browsed, MAC from the name
    assert ("raspberrypi", free_ip, None) in by_name  # raspberrypi.local resolved


def test_no_pi_found_exits_3_and_still_lists_the_hosts(testbed: tb.Testbed, tmp_path: Path) -> None:
    """Only other-1's address is searched: it answers, it is not a Pi → exit 3 + hint."""
    (other,) = [h for h in testbed.hosts if h.kind == "other"]
    saved = tmp_path / "discovery.json"
    result = runner.invoke(
        app,
        [
            "discover",
            "--subnet",
            f"{other.ip}/32",
            "--json",
            "-o",
            str(saved),
            "--user",
            "pi",
            "--identity",
            str(testbed.ssh_key),
            "--known-hosts",
            str(tmp_path / "known_hosts"),
            "--no-mdns",
        ],
    )
    assert result.exit_code == 3, result.output
    assert f"No Raspberry Pi found on {other.ip}/32 (1 other hosts answered)." in result.stderr
    assert "hint: Check --subnet" in result.stderr
    printed = [PiHost.from_dict(d) for d in json.loads(result.stdout)]
    assert [(h.ip, h.hostname, h.is_pi) for h in printed] == [(other.ip, "other-1", False)]
    assert load_hosts(saved) == printed  # what `inventory --from` reads
