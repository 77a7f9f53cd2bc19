"""Golden inventories: one test per case directory in tests/fixtures/inventory/.

Each case holds spec.yaml (the cluster spec), discovery.json (`pi-k8s discover --json`
output) and expected.yml (the inventory `pi-k8s inventory` must write, reviewed by
hand). The real CLI renders the case; the real `ansible-inventory` reads the golden
file back, so the groups and host variables Ansible sees are checked too.
"""

from __future__ import annotations

import json
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from pi_k8s.cli import app
from pi_k8s.inventory import build_inventory, load_hosts
from pi_k8s.spec import load_spec

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "inventory"
CASES = sorted(p.name for p in FIXTURES.iterdir() if p.is_dir() and p.name != "bad")
ANSIBLE_INVENTORY = Path(sys.executable).parent / "ansible-inventory"

# What each case is about, asserted on top of the golden comparison so that a golden
# file regenerated from a wrong result still fails here.
EXPECTED_ROLES: dict[str, tuple[list[str], list[str]]] = {
    "single_server": (["pi-a"], ["pi-b", "pi-d"]),
    "ha_three_servers": (["pi-a", "pi-e", "pi-b"], ["pi-c", "pi-d"]),
    "ssh_settings": (["pi-a"], ["pi-b", "pi-c"]),
    "overrides": (["pi-d"], ["pi-a", "pi-b", "pi-c"]),
    "include_exclude": (["pi-a"], ["nas", "pi-b"]),
    "ranking": (
        ["rk-usb"],
        ["rk-usb-late", "rk-sd-early", "rk-sd-late", "rk-armhf-nvme", "rk-2gb-nvme"],
    ),
}


def test_every_case_has_expected_roles() -> None:
    assert sorted(EXPECTED_ROLES) == CASES


def _groups(data: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    cluster = data["all"]["children"]["k3s_cluster"]
    return (
        cluster["children"]["server"]["hosts"],
        cluster["children"]["agent"]["hosts"],
        cluster["vars"],
    )


@pytest.mark.parametrize("case", CASES)
def test_cli_writes_the_golden_inventory(case: str, tmp_path: Path) -> None:
    src = FIXTURES / case
    out = tmp_path / "inventory" / "hosts.yml"
    result = CliRunner().invoke(
        app,
        [
            "inventory",
            "--spec",
            str(src / "spec.yaml"),
            "--from",
            str(src / "discovery.json"),
            "-o",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    assert out.read_text() == (src / "expected.yml").read_text()
    assert stat.S_IMODE(out.stat().st_mode) == 0o644
    assert sorted(p.name for p in out.parent.iterdir()) == ["hosts.yml"]  # no temp file left
    # The role table names every selected host with its role, servers first.
    servers, agents = EXPECTED_ROLES[case]
    rows = [line.split()[:3] for line in result.output.splitlines()]
    roles = [(row[0], row[2]) for row in rows if len(row) == 3 and row[2] in ("server", "agent")]
    assert roles == [(n, "server") for n in servers] + [(n, "agent") for n in agents]
    assert f"Wrote {out}" in result.output


@pytest.mark.parametrize("case", CASES)
def test_python_api_matches_the_golden_inventory(case: str) -> None:
    src = FIXTURES / case
    data = build_inventory(load_spec(src / "spec.yaml"), load_hosts(src / "discovery.json"))
    assert data == yaml.safe_load((src / "expected.yml").read_text())
    servers, agents, _ = _groups(data)
    assert (list(servers), list(agents)) == EXPECTED_ROLES[case]


@pytest.mark.parametrize("case", CASES)
def test_ansible_reads_the_golden_inventory(case: str, tmp_path: Path) -> None:
    golden = FIXTURES / case / "expected.yml"
    proc = subprocess.run(
        [str(ANSIBLE_INVENTORY), "-i", str(golden), "--list"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert "[WARNING]" not in proc.stderr, proc.stderr
    listed = json.loads(proc.stdout)
    servers, agents, group_vars = _groups(yaml.safe_load(golden.read_text()))

    assert set(listed["k3s_cluster"]["children"]) == {"server", "agent"}
    assert listed["server"]["hosts"] == list(servers)
    assert listed["agent"].get("hosts", []) == list(agents)
    hostvars = listed["_meta"]["hostvars"]
    assert set(hostvars) == set(servers) | set(agents)
    for name, own in {**servers, **agents}.items():
        assert hostvars[name] == {**group_vars, **own}, name
    # The API endpoint Ansible sees is the first server's address (no VIP until HA lands).
    first = next(iter(servers))
    assert hostvars[first]["cluster_api_endpoint"] == servers[first]["ansible_host"]
    assert "cluster_api_vip" not in group_vars and "cluster_lb_pool" not in group_vars
