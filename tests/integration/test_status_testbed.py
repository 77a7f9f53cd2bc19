"""`pi-k8s status` on a bootstrapped 1 + 2 testbed ("st13", 10.213.102.0/24).

rpi-1 is the server, rpi-2 and rpi-3 the agents, running the k3s stand-in
(tests/standin/) installed by `pi-k8s bootstrap` through the airgap path, because real k3s
cannot be downloaded here. What status reads here is real: SSH with the inventory's
settings, the Pi files the testbed gives each host (device-tree model), df, /proc/uptime,
the node list the server's `k3s kubectl` prints, and `/ping` on port 6443. The testbed
has no vcgencmd and its thermal zone is the CI machine's (or none), so throttling stays
null here; its decoding is tested in tests/unit/test_status.py.

Each step's `status --json` is validated against the shipped schema. The tests break the
cluster in order (k3s stopped on the server, then restarted; then an agent's whole
container stopped), so they run in file order.
"""

from __future__ import annotations

import contextlib
import io
import json
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from typer.testing import CliRunner

from pi_k8s import schemas
from pi_k8s import testbed as tb
from pi_k8s.cli import app
from tests.conftest import STANDIN_VERSION, host_sh, make_testbed
from tests.testbed_inventory import cluster_inventory

pytestmark = pytest.mark.testbed

runner = CliRunner(env={"COLUMNS": "200"})


@pytest.fixture(scope="module")
def cluster(
    tmp_path_factory: pytest.TempPathFactory, controller_home: Path, airgap: Path
) -> Iterator[dict[str, Any]]:
    for bed in make_testbed("st13", "10.213.102.0/24", nodes=3):
        inv = tmp_path_factory.mktemp("inv") / "hosts.yml"
        inv.write_text(yaml.safe_dump(cluster_inventory(bed, ["rpi-1"], ["rpi-2", "rpi-3"])))
        # The README's "Python API" example, as it stands there, with this testbed's paths.
        code = readme_example().replace('"k3s-airgap"', repr(str(airgap)))
        code = code.replace('"inventory/hosts.yml"', repr(str(inv)))
        # The stand-in runs no pods: verify's kube-system and DNS checks are left out.
        code = code.replace(
            f'k3s_version="{STANDIN_VERSION}")',
            f'k3s_version="{STANDIN_VERSION}", workloads=False)',
        )
        assert "workloads=False" in code
        printed = io.StringIO()
        scope: dict[str, Any] = {}
        with contextlib.redirect_stdout(printed):
            exec(compile(code, "README.md (Python API)", "exec"), scope)
        yield {"bed": bed, "inventory": inv, "api": scope, "printed": printed.getvalue()}


def readme_example() -> str:
    """The python block of the README's "### Python API" section."""
    text = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    section = text.split("### Python API\n", 1)[1].split("\n### ", 1)[0]
    return section.split("```python\n", 1)[1].split("```", 1)[0]


def status_json(*args: str) -> dict[str, Any]:
    """`pi-k8s status --json ARGS`: exit 0, only JSON on stdout, valid against the schema."""
    result = runner.invoke(app, ["status", "--json", *args])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    jsonschema.Draft202012Validator(
        schemas.load("status"), format_checker=jsonschema.FormatChecker()
    ).validate(data)
    return data


def by_name(data: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {n["hostname"]: n for n in data["nodes"]}


def models(bed: tb.Testbed) -> dict[str, str | None]:
    return {h.name: h.model for h in bed.hosts}


def test_the_python_api_alone_bootstrapped_this_cluster_and_read_its_status(
    cluster: dict,
) -> None:
    """No CLI: pi_k8s.operations ran site.yml, verify and status, returning data."""
    result = cluster["api"]["result"]
    assert result.run.ok and set(result.run.hosts) == {"rpi-1", "rpi-2", "rpi-3"}
    assert all(s.changed > 0 for s in result.run.hosts.values())
    assert result.report is not None and result.report.ok  # verify ran (the default)
    rows = [(n.hostname, n.role, n.ready) for n in cluster["api"]["status"].nodes]
    assert rows == [
        ("rpi-1", "server", "True"),
        ("rpi-2", "agent", "True"),
        ("rpi-3", "agent", "True"),
    ]
    assert cluster["printed"].splitlines() == [
        f"successful {dict((h, s.changed) for h, s in result.run.hosts.items())}",
        str(rows),
    ]


def test_status_shows_three_ready_nodes_the_api_and_the_bootstrap_run(cluster: dict) -> None:
    bed = cluster["bed"]
    data = status_json("--cluster", "st13")
    nodes = by_name(data)
    assert list(nodes) == ["rpi-1", "rpi-2", "rpi-3"]
    assert {n: r["role"] for n, r in nodes.items()} == {
        "rpi-1": "server",
        "rpi-2": "agent",
        "rpi-3": "agent",
    }
    for name, row in nodes.items():
        assert row["reachable"] is True and row["error"] is None, row
        assert row["ready"] == "True" and row["k3s_version"] == STANDIN_VERSION, row
        assert row["pi_model"] == models(bed)[name] and row["pi_model"].startswith("Raspberry Pi")
        assert row["throttling"] is None  # no vcgencmd on a testbed host: null, not "none"
        assert row["disks"][0]["path"] == "/" and row["disks"][0]["free_mb"] > 0
        assert row["uptime_s"] > 0 and row["joined"] is not None
    server_ip = next(h.ip for h in bed.hosts if h.name == "rpi-1")
    api = data["api"]
    assert api["endpoint"] == f"https://{server_ip}:6443"
    assert api["answers"] is True and api["answered_by"] == "rpi-1"
    assert api["detail"].startswith("pong in ")
    assert api["node_list_from"] == "rpi-1"
    assert [(r["command"], r["ok"]) for r in data["runs"]] == [("bootstrap", True)]
    assert data["remembered"] is True and data["notes"] == []
    assert data["k3s"] == {"version": STANDIN_VERSION, "channel": None, "source": "airgap"}


def test_the_table_view_piped(cluster: dict) -> None:
    result = runner.invoke(app, ["status", "--cluster", "st13"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].startswith(f"cluster st13 (3 nodes, k3s {STANDIN_VERSION}, datastore ")
    rows = [line.split("\t") for line in lines if line.startswith("rpi-")]
    assert [(r[0], r[1], r[3], r[4]) for r in rows[:3]] == [
        ("rpi-1", "server", STANDIN_VERSION, "Ready"),
        ("rpi-2", "agent", STANDIN_VERSION, "Ready"),
        ("rpi-3", "agent", STANDIN_VERSION, "Ready"),
    ]
    assert "node list: from rpi-1 (k3s kubectl get nodes)" in lines


def test_an_inventory_pi_k8s_does_not_remember_still_works(
    cluster: dict, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PI_K8S_STATE_DIR", str(tmp_path / "empty-state"))
    data = status_json("--inventory", str(cluster["inventory"]))
    assert data["remembered"] is False and data["runs"] == [] and data["k3s"] is None
    assert all(n["joined"] is None and n["ready"] == "True" for n in data["nodes"])
    assert data["notes"] == [
        "pi-k8s has no record of cluster 'st13' (no cluster.json): roles come from the "
        "inventory; no runs and no joined dates."
    ]


def test_k3s_stopped_on_the_server_is_reported_and_status_still_exits_0(cluster: dict) -> None:
    bed = cluster["bed"]
    assert host_sh(bed, "rpi-1", "systemctl stop k3s").returncode == 0
    try:
        data = status_json("--cluster", "st13")
        api = data["api"]
        assert api["answers"] is False and api["answered_by"] is None
        assert api["detail"] == "connection refused (nothing listens on the port)"
        assert api["node_list_from"] is None
        assert api["node_list_error"].startswith("rpi-1: ")
        assert "refused" in api["node_list_error"]
        for row in data["nodes"]:
            assert row["reachable"] is True  # the hosts answer; only the API is down
            assert row["ready"] is None and row["k3s_version"] is None
    finally:
        assert host_sh(bed, "rpi-1", "systemctl start k3s").returncode == 0
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        data = status_json("--cluster", "st13")
        if data["api"]["answers"] and all(n["ready"] == "True" for n in data["nodes"]):
            break
        time.sleep(2)
    assert data["api"]["answered_by"] == "rpi-1", data
    assert [n["ready"] for n in data["nodes"]] == ["True"] * 3, data


def test_a_stopped_agent_is_an_unreachable_row(cluster: dict) -> None:
    """Last: rpi-3's container stays stopped (the fixture removes the testbed)."""
    bed = cluster["bed"]
    container = next(h.container for h in bed.hosts if h.name == "rpi-3")
    subprocess.run(["podman", "stop", "-t", "2", container], check=True, capture_output=True)
    started = time.monotonic()
    data = status_json("--cluster", "st13")
    took = time.monotonic() - started
    nodes = by_name(data)
    down = nodes["rpi-3"]
    assert down["reachable"] is False
    assert down["error"].startswith("ssh: connect to host "), down
    assert down["pi_model"] is None and down["disks"] == [] and down["uptime_s"] is None
    assert nodes["rpi-1"]["reachable"] is True and nodes["rpi-2"]["reachable"] is True
    assert data["api"]["answers"] is True
    # The API still lists rpi-3 (Ready until its heartbeat is 40 s old): status says what
    # the API says and, beside it, that the host does not answer.
    assert down["ready"] in {"True", "Unknown"}
    assert took < 30  # the connect timeout (5 s) bounds a dead host, not ssh's default
    result = runner.invoke(app, ["status", "--cluster", "st13"])
    assert result.exit_code == 0, result.output
    assert "unreachable: ssh: connect to host" in result.output
