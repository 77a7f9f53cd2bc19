"""A check that raises on one host is a failed result for that host and check.

Real Pis give output the checks may not expect: ``vcgencmd`` printing an error on stdout
with rc 0, a thermal zone root cannot read, an SSH connection dropping mid-run. Each must
become one failure naming the host, the check and the error, and every other result of the
report must stay. The hosts here are doubles (no SSH on this machine): ``OddPi`` answers the
Pi checks with such output; the other checks are replaced by stubs that pass, so the test
is about how verify runs checks, not about each check's parser.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from pi_k8s import verify
from pi_k8s.verify import hosts as verify_hosts

OTHER_CHECKS = (
    "check_cgroups",
    "check_swap",
    "check_modules",
    "check_sysctls",
    "check_time",
    "check_service",
    "check_ports",
    "check_modes",
)


@dataclass
class Out:
    rc: int
    stdout: str = ""
    stderr: str = ""


class UnreadableFile:
    exists = True

    @property
    def content_string(self) -> str:
        raise PermissionError(13, "Permission denied", "/sys/class/thermal/thermal_zone0/temp")


class OddPi:
    """A Pi whose vcgencmd prints an error with rc 0, or whose thermal zone is unreadable.

    It has no Python 3, so through verify() the one batched read (pi_k8s.verify.batched)
    fails and every read comes to the methods below, as testinfra's would."""

    def __init__(self, *, vcgencmd: str = "throttled=0x0", thermal_readable: bool = True) -> None:
        self.vcgencmd = vcgencmd
        self.thermal_readable = thermal_readable

    def run(self, command: str, *args: str) -> Out:
        if args:  # the batched read: `python3 -c …`
            return Out(127, stderr="sh: 1: python3: not found")
        return {
            "true": Out(0),
            "vcgencmd get_throttled": Out(0, self.vcgencmd),
            "findmnt -no SOURCE /": Out(0, "/dev/sda2\n"),
        }[command]

    def exists(self, command: str) -> bool:
        return command == "vcgencmd"

    def file(self, path: str) -> Any:
        assert path == "/sys/class/thermal/thermal_zone0/temp", path
        if self.thermal_readable:
            return type("F", (), {"exists": True, "content_string": "48000\n"})()
        return UnreadableFile()

    @contextmanager
    def sudo(self) -> Iterator[None]:
        yield


@pytest.fixture
def other_checks_pass(monkeypatch: pytest.MonkeyPatch) -> None:
    def stub(name: str) -> Any:
        def check(host: Any, t: verify.HostTarget, *args: Any) -> Iterable[verify.CheckResult]:
            yield verify.CheckResult(t.name, name, verify.PASS, "stub")

        return check

    for name in (*OTHER_CHECKS, "check_k3s_binary", "check_disk"):
        monkeypatch.setattr(verify_hosts, name, stub(name))


def _pi(name: str = "rpi-1") -> verify.HostTarget:
    return verify.HostTarget(name, "server", is_pi=True)


@pytest.mark.usefixtures("other_checks_pass")
def test_odd_vcgencmd_output_fails_that_check_only() -> None:
    results = verify.host_checks(
        OddPi(vcgencmd="VCHI initialization failed\n"), _pi(), version=None, min_free_mb=1
    )
    names = [(r.host, r.name, r.status) for r in results]
    assert names[:10] == [
        ("rpi-1", n, "pass") for n in (*OTHER_CHECKS, "check_k3s_binary", "check_disk")
    ]
    assert names[10:] == [("rpi-1", "Raspberry Pi hardware", "fail")]
    bad = results[10]
    assert bad.detail == (
        "check could not run: ValueError: invalid literal for int() with base 16: "
        "'VCHI initialization failed'"
    )
    assert "look at it by hand" in bad.hint


@pytest.mark.usefixtures("other_checks_pass")
def test_unreadable_thermal_zone_keeps_the_results_before_it() -> None:
    results = verify.host_checks(OddPi(thermal_readable=False), _pi(), version=None, min_free_mb=1)
    pi = [(r.name, r.status, r.detail) for r in results[10:]]
    assert pi == [
        ("power and throttling", "pass", "none"),
        (
            "Raspberry Pi hardware",
            "fail",
            "check could not run: PermissionError: [Errno 13] Permission denied: "
            "'/sys/class/thermal/thermal_zone0/temp'",
        ),
    ]


class DroppedConnection(Exception):
    """What testinfra's ansible backend raises when the SSH connection goes away."""


@pytest.mark.usefixtures("other_checks_pass")
def test_verify_keeps_the_report_when_a_check_or_a_connection_breaks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Through verify(): three hosts in threads, one odd, one dropped; all three reported."""
    import testinfra

    targets = [_pi("rpi-1"), _pi("rpi-2"), verify.HostTarget("rpi-3", "agent", is_pi=False)]
    monkeypatch.setattr(verify, "load_targets", lambda inventory: (targets, {}))

    class Dropped(OddPi):
        @contextmanager
        def sudo(self) -> Iterator[None]:
            raise DroppedConnection("Connection to rpi-3 closed by remote host.")
            yield

    hosts = {
        "rpi-1": OddPi(),
        "rpi-2": OddPi(vcgencmd="garbage"),
        "rpi-3": Dropped(),
    }
    monkeypatch.setattr(testinfra, "get_host", lambda spec, **kw: hosts[spec.split("//")[1]])
    monkeypatch.setattr(
        verify,
        "cluster_checks",
        lambda *a, **k: [verify.CheckResult("rpi-1", "cluster nodes", verify.PASS, "stub")],
    )
    report = verify.verify(tmp_path / "hosts.yml", workloads=False)
    failed = [(r.host, r.name, r.detail) for r in report.failed]
    assert failed == [
        (
            "rpi-2",
            "Raspberry Pi hardware",
            "check could not run: ValueError: invalid literal for int() with base 16: 'garbage'",
        ),
        (
            "rpi-3",
            "reachable",
            "check could not run: DroppedConnection: Connection to rpi-3 closed by remote host.",
        ),
    ]
    rpi1 = [r for r in report.results if r.host == "rpi-1"]
    assert [r.name for r in rpi1][-4:] == [
        "power and throttling",
        "SoC temperature",
        "root device",
        "cluster nodes",
    ]
    assert all(r.status == verify.PASS for r in rpi1)
