"""`pi-k8s nodes add` on a live testbed cluster, and the cluster state it keeps.

1 server + 1 agent bootstrapped from a hand-written inventory (the stand-in over the
airgap path); cluster.json records them. Then rpi-3 is added by IP: only it changes
(the members' recap is changed=0 and their k3s units keep their PID), three nodes are
Ready, cluster.json lists it third. A second server alone is refused (even count), and a
member cannot be added again. Tests run in file order on one cluster, with a state
directory of their own: the commands find the cluster without --cluster.
"""

from __future__ import annotations

import json
import stat
from collections.abc import Iterator
from pathlib import Path

import jsonschema
import pytest
import yaml
from typer.testing import CliRunner

from pi_k8s import clusters
from pi_k8s import operations as ops
from pi_k8s import testbed as tb
from pi_k8s.cli import app
from tests.conftest import STANDIN_VERSION, make_testbed, run_bootstrap
from tests.conftest import host_sh as sh
from tests.testbed_inventory import cluster_inventory

pytestmark = pytest.mark.testbed

NAME = "nd13"
UNITS = {"rpi-1": "k3s", "rpi-2": "k3s-agent"}


def units(bed: tb.Testbed) -> dict[str, str]:
    return {
        h: sh(bed, h, f"systemctl show {u} -p MainPID -p ActiveEnterTimestamp -p NRestarts").stdout
        for h, u in UNITS.items()
    }


def ready(bed: tb.Testbed) -> dict[str, str]:
    items = json.loads(sh(bed, "rpi-1", "k3s kubectl get nodes -o json").stdout)["items"]
    return {
        n["metadata"]["name"]: next(
            c["status"] for c in n["status"]["conditions"] if c["type"] == "Ready"
        )
        for n in items
    }


def cli(*args: str) -> tuple[int, str]:
    result = CliRunner(env={"COLUMNS": "200"}).invoke(app, list(args))
    return result.exit_code, result.output


def state_text() -> str:
    return (clusters.cluster_dir(NAME) / "cluster.json").read_text()


@pytest.fixture(scope="module")
def cluster(
    own_state_dir: Path,
    tmp_path_factory: pytest.TempPathFactory,
    controller_home: Path,
    airgap: Path,
) -> Iterator[dict]:
    for bed in make_testbed(NAME, "10.213.103.0/24", nodes=3):
        inv = tmp_path_factory.mktemp("inv") / "hosts.yml"
        inv.write_text(yaml.safe_dump(cluster_inventory(bed, ["rpi-1"], ["rpi-2"])))
        code, output = run_bootstrap(inv, airgap, "--no-verify")
        yield {"bed": bed, "inventory": inv, "code": code, "output": output, "airgap": airgap}


def test_bootstrap_records_the_cluster(cluster: dict) -> None:
    assert cluster["code"] == 0, cluster["output"]
    path = clusters.cluster_dir(NAME) / "cluster.json"
    data = json.loads(path.read_text())
    jsonschema.Draft202012Validator(clusters.schema()).validate(data)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE((path.parent / "token").stat().st_mode) == 0o600
    bed = cluster["bed"]
    ip = {h.name: h.ip for h in bed.hosts}
    assert data["api_endpoint"] == f"https://{ip['rpi-1']}:6443"
    assert data["k3s"] == {
        "version": STANDIN_VERSION,
        "channel": None,
        "source": "airgap",
        "location": str(cluster["airgap"].resolve()),
    }
    assert data["datastore"] == "etcd"
    assert [(m["hostname"], m["ip"], m["role"], m["order"]) for m in data["members"]] == [
        ("rpi-1", ip["rpi-1"], "server", 1),
        ("rpi-2", ip["rpi-2"], "agent", 2),
    ]
    assert data["inventory"] == str(cluster["inventory"].resolve())
    # The hand-written inventory is kept with the state, 0600.
    copy = path.parent / "inventory.yml"
    assert copy.read_text() == cluster["inventory"].read_text()
    assert stat.S_IMODE(copy.stat().st_mode) == 0o600
    assert [r["command"] for r in data["runs"]] == ["bootstrap"] and data["runs"][0]["ok"]
    code, out = cli("clusters", "--json")
    assert code == 0 and [c["name"] for c in json.loads(out)] == [NAME]


def test_add_an_agent_changes_only_the_new_host(cluster: dict) -> None:
    bed = cluster["bed"]
    before = units(bed)
    rpi3 = next(h.ip for h in bed.hosts if h.name == "rpi-3")
    result = ops.add_nodes([rpi3], cluster=NAME)
    assert result.run is not None and result.run.ok
    stats = result.run.hosts
    assert stats["rpi-1"].changed == 0, result.run.changes.get("rpi-1")
    assert stats["rpi-2"].changed == 0, result.run.changes.get("rpi-2")
    assert stats["rpi-3"].changed > 0
    assert units(bed) == before  # no restart on the members
    assert ready(bed) == {"rpi-1": "True", "rpi-2": "True", "rpi-3": "True"}
    state = clusters.load(NAME)
    assert [(m.hostname, m.role, m.order) for m in state.members] == [
        ("rpi-1", "server", 1),
        ("rpi-2", "agent", 2),
        ("rpi-3", "agent", 3),
    ]
    assert state.member("rpi-3").mac == next(h.mac for h in bed.hosts if h.name == "rpi-3")
    # The inventory now lives with the cluster's state, rpi-3 in the agent group.
    assert Path(state.inventory) == clusters.cluster_dir(NAME) / "hosts.yml"
    groups = yaml.safe_load(Path(state.inventory).read_text())["all"]["children"]
    assert list(groups["k3s_cluster"]["children"]["agent"]["hosts"]) == ["rpi-2", "rpi-3"]
    assert [r.command for r in state.runs] == ["bootstrap", "nodes add"]


def test_a_single_new_server_is_refused_with_the_quorum_hint(cluster: dict) -> None:
    before = state_text()
    # The count is checked on a host from a discovery file (it is never contacted).
    found = Path(cluster["inventory"]).parent / "one.json"
    rpi3 = next(h for h in cluster["bed"].hosts if h.name == "rpi-3")
    found.write_text(
        json.dumps(
            [
                {
                    "ip": "10.213.103.250",
                    "hostname": "rpi-new",
                    "is_pi": True,
                    "memory_mb": 3800,
                    "model": rpi3.model,
                    "userland_arch": "arm64",
                    "kernel_arch": "aarch64",
                }
            ]
        )
    )
    code, out = cli("nodes", "add", "--from", str(found), "--role", "server")
    assert code == 2, out
    assert "makes 2" in out and "quorum" in out
    assert "hint: Add 2 servers" in out and "--allow-even" in out
    code, out = cli("nodes", "add", "--from", str(found), "--role", "server", "--check")
    assert code == 2, out  # --check plans, and the plan is refused the same way
    assert state_text() == before


def test_a_member_cannot_be_added_again(cluster: dict) -> None:
    before = state_text()
    rpi2 = next(h.ip for h in cluster["bed"].hosts if h.name == "rpi-2")
    code, out = cli("nodes", "add", rpi2)
    assert code == 2, out
    assert "rpi-2" in out and "already a member" in out and "(agent)" in out
    assert state_text() == before


def test_check_shows_the_plan_and_changes_nothing(cluster: dict, tmp_path: Path) -> None:
    before = state_text()
    inventory_before = Path(clusters.load(NAME).inventory).read_text()
    hosts = tmp_path / "d.json"
    hosts.write_text(
        json.dumps([{"ip": "10.213.103.251", "hostname": "rpi-7", "is_pi": True, "memory_mb": 900}])
    )
    code, out = cli("nodes", "add", "--from", str(hosts), "--check", "--json")
    assert code == 0, out
    plan = json.loads(out)["plan"]
    assert [n["hostname"] for n in plan["new"]] == ["rpi-7"]
    assert (plan["servers_before"], plan["servers_after"]) == (1, 1)
    assert state_text() == before
    assert Path(clusters.load(NAME).inventory).read_text() == inventory_before
