"""verify's parsers, one fixture file per case (tests/fixtures/verify/<parser>/<case>.json).

The nodes and pods fixtures are hand-written, not recorded: Node and Pod objects in the
shape of the Kubernetes API reference inside kubectl's List wrapper, cut to the fields the
parsers read (each file's "source" names the page). The nslookup fixtures are written in
the shape busybox 1.36's nslookup prints (the printf formats in networking/nslookup.c).
"""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

import pytest

from pi_k8s import verify
from pi_k8s.render.junit import to_junit

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "verify"


def cases(kind: str) -> list[Path]:
    found = sorted((FIXTURES / kind).glob("*.json"))
    assert found, f"no fixtures for {kind}"
    return found


@pytest.mark.parametrize("path", cases("nodes"), ids=lambda p: p.stem)
def test_parse_nodes(path: Path) -> None:
    data = json.loads(path.read_text())
    got = [asdict(n) for n in verify.parse_nodes(json.dumps(data["input"]))]
    assert got == data["expected"]


@pytest.mark.parametrize("path", cases("pods"), ids=lambda p: p.stem)
def test_parse_pods(path: Path) -> None:
    data = json.loads(path.read_text())
    got = [list(pod) for pod in verify.parse_pods(json.dumps(data["input"]))]
    assert got == data["expected"]


@pytest.mark.parametrize("path", cases("throttled"), ids=lambda p: p.stem)
def test_decode_throttled(path: Path) -> None:
    data = json.loads(path.read_text())
    assert verify.decode_throttled(data["input"]) == data["expected"]


@pytest.mark.parametrize("path", cases("controllers"), ids=lambda p: p.stem)
def test_controllers(path: Path) -> None:
    data = json.loads(path.read_text())
    parse = verify.parse_controllers if data["layout"] == "v2" else verify.parse_proc_cgroups
    assert sorted(parse(data["input"])) == data["expected"]


def test_junit_reports_failures_and_skips() -> None:
    report = verify.VerifyReport(
        [
            verify.CheckResult("rpi-1", "swap off", "pass", "no swap"),
            verify.CheckResult("rpi-1", "port 6443", "fail", "not listening", "start k3s"),
            verify.CheckResult("rpi-2", "power and throttling", "skip", "vcgencmd not installed"),
        ]
    )
    xml = to_junit(report)
    assert '<testsuite name="rpi-1" tests="2" failures="1" skipped="0">' in xml
    assert '<failure message="not listening">start k3s</failure>' in xml
    assert '<skipped message="vcgencmd not installed" />' in xml
    assert not report.ok and [r.name for r in report.failed] == ["port 6443"]


@pytest.mark.parametrize("path", cases("nslookup"), ids=lambda p: p.stem)
def test_parse_nslookup(path: Path) -> None:
    data = json.loads(path.read_text())
    assert verify.parse_nslookup(data["input"]) == data["expected"]


class ScriptedServer:
    """Stands in for a server's testinfra host running the DNS smoke pod: no API server
    can run pods here (the k3s stand-in runs none). Its output is hand-written, not
    recorded, in the shape busybox 1.36's nslookup prints: "Server:\\t\\t…",
    "Address:\\t…:53", then "Name:\\t…" and "Address: …" per answer (the printf formats
    in busybox's networking/nslookup.c)."""

    def __init__(self, rc: int, stdout: str, stderr: str = "") -> None:
        self.result = type("R", (), {"rc": rc, "stdout": stdout, "stderr": stderr})()
        self.commands: list[str] = []

    def run(self, command: str) -> object:
        self.commands.append(command)
        return self.result


def test_dns_smoke_passes_with_an_answer_and_fails_with_a_hint() -> None:
    ok = json.loads((FIXTURES / "nslookup" / "busybox-ok.json").read_text())["input"]
    server = ScriptedServer(0, ok)
    result = verify.check_dns(server, "rpi-1")
    assert (result.status, result.detail) == ("pass", "kubernetes.default → 10.43.0.1")
    assert "nslookup kubernetes.default" in server.commands[0]
    assert "--rm" in server.commands[0] and verify.DNS_SMOKE_IMAGE in server.commands[0]

    failed = verify.check_dns(
        ScriptedServer(
            1, "", "error: timed out waiting for the condition on pods/pi-k8s-dns-smoke"
        ),
        "rpi-1",
    )
    assert failed.status == "fail"
    assert failed.detail == "error: timed out waiting for the condition on pods/pi-k8s-dns-smoke"
    assert "coredns" in failed.hint and "--skip-workloads" in failed.hint
