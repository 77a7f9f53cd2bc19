"""`pi-k8s discover` input errors, and the discovery JSON file: no host is contacted.

Every case here fails validation before the first packet, so these run without a
testbed; the sweep and SSH probe are tested on the testbed (tests/integration).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from pi_k8s.cli import app
from pi_k8s.discovery import parse_workstation_name, write_hosts_json
from pi_k8s.errors import SpecError
from pi_k8s.inventory import load_hosts
from pi_k8s.models import PiHost

runner = CliRunner()
INVENTORY_FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "inventory"


@pytest.mark.parametrize(
    ("subnet", "message"),
    [
        ("10.213.14.0/33", "Invalid subnet '10.213.14.0/33'"),
        ("10.213.14", "Invalid subnet '10.213.14'"),
        ("pi-lan", "Invalid subnet 'pi-lan'"),
        ("fd00::/64", "is IPv6"),
        ("10.0.0.0/8", "the limit is a /16"),
    ],
)
def test_bad_subnet_is_a_usage_error(subnet: str, message: str) -> None:
    result = runner.invoke(app, ["discover", "--subnet", subnet, "--no-mdns"])
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert "hint: Use CIDR form" in result.output or "hint: Pass" in result.output


def test_missing_identity_file_is_a_usage_error(tmp_path: Path) -> None:
    missing = tmp_path / "nope"
    result = runner.invoke(
        app,
        ["discover", "--subnet", "10.213.14.0/24", "--identity", str(missing), "--no-mdns"],
    )
    assert result.exit_code == 2, result.output
    assert f"Identity file {missing} does not exist." in result.output


@pytest.mark.parametrize(
    ("name", "host", "mac"),
    [
        ("rpi-1 [dc:a6:32:01:02:03]._workstation._tcp.local.", "rpi-1", "dc:a6:32:01:02:03"),
        (
            "raspberrypi [B8:27:EB:AA:BB:CC]._workstation._tcp.local.",
            "raspberrypi",
            "b8:27:eb:aa:bb:cc",
        ),
        ("nas._workstation._tcp.local.", "nas", None),
    ],
)
def test_workstation_instance_name(name: str, host: str, mac: str | None) -> None:
    assert parse_workstation_name(name) == (host, mac)


def test_inventory_reads_what_discover_writes(tmp_path: Path) -> None:
    """`discover -o` writes with write_hosts_json; `inventory --from` reads with load_hosts."""
    pi = json.loads((INVENTORY_FIXTURES / "ranking" / "discovery.json").read_text())[0]
    hosts = [
        PiHost.from_dict(pi),  # a fully probed Pi, every field set
        PiHost(ip="10.0.0.6", mac="52:54:00:01:02:03", ssh_error="refused", sources=["tcp"]),
    ]
    path = tmp_path / "discovery.json"
    write_hosts_json(hosts, path)
    assert json.loads(path.read_text()) == [h.to_dict() for h in hosts]  # as --json prints
    assert load_hosts(path) == hosts


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "not valid JSON at line 1, column 2"),
        ('{"ip": "10.0.0.5"}', "expected a JSON list of hosts, got dict"),
        ('[{"mac": "dc:a6:32:01:02:03"}]', 'host [0] is not an object with an "ip"'),
    ],
)
def test_a_file_that_is_not_discovery_output_is_refused(
    tmp_path: Path, content: str, message: str
) -> None:
    path = tmp_path / "discovery.json"
    path.write_text(content)
    with pytest.raises(SpecError) as info:
        load_hosts(path)
    assert message in info.value.message
