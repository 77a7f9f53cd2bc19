"""Issue 13's acceptance, one scenario on five testbed Pis (servers on the 2 GB+ boards
rpi-1, rpi-2, rpi-3; rpi-4 has 1 GB; the stand-in over the airgap
path), in file order, each step asserted and timed:

1. bootstrap rpi-1 (server, on SQLite) + rpi-4 (agent);
2. `nodes add` rpi-5 as agent: rpi-1 and rpi-4 report changed=0 and restart nothing;
   three nodes Ready;
3. `nodes add` rpi-2 alone as a server is refused (quorum hint); rpi-2 + rpi-3 as
   servers: rpi-1 moves from SQLite to embedded etcd first, three etcd members;
4. `nodes remove` the agent rpi-5: its Node is gone and its host is back to its
   pre-bootstrap snapshot;
5. `nodes remove` the server rpi-3: refused without --force (even count), done with it;
6. `reset` everything: every host matches its pre-bootstrap snapshot, file by file
   (rpi-1's cmdline.txt carried a flag of the user's own, which stays);
7. `status --json` validates against its schema after every step; cluster.json against
   its own, 0600, with a copy of the hand-written inventory; a member cannot be added
   again, and `nodes add --check` changes nothing.

The wall time of each step is written to $PI_K8S_STATE_DIR/day2-times.json.
"""

from __future__ import annotations

import json
import stat
import time
from collections.abc import Iterator
from pathlib import Path

import jsonschema
import pytest
import yaml

from pi_k8s import clusters, paths
from pi_k8s import testbed as tb
from tests.conftest import STANDIN_VERSION, cli, make_testbed
from tests.conftest import host_sh as sh
from tests.host_snapshot import snapshot, without_markers
from tests.testbed_inventory import cluster_inventory

pytestmark = pytest.mark.testbed

NAME = "d213"
HOSTS = ("rpi-1", "rpi-2", "rpi-3", "rpi-4", "rpi-5")
USER_FLAG = "usbcore.autosuspend=-1"
STATUS_SCHEMA = Path(paths.__file__).parent / "schemas" / "status.schema.json"
S: dict = {}  # what a step leaves for the next ones


def timed(step: str, started: float) -> None:
    S.setdefault("times", {})[step] = round(time.monotonic() - started, 1)
    (paths.state_dir() / "day2-times.json").write_text(json.dumps(S["times"], indent=1))


def nodes(bed: tb.Testbed, server: str = "rpi-1") -> dict[str, dict]:
    items = json.loads(sh(bed, server, "k3s kubectl get nodes -o json").stdout)["items"]
    return {n["metadata"]["name"]: n for n in items}


def ready(bed: tb.Testbed) -> dict[str, str]:
    return {
        name: next(c["status"] for c in n["status"]["conditions"] if c["type"] == "Ready")
        for name, n in nodes(bed).items()
    }


def etcd_members(bed: tb.Testbed) -> list[str]:
    out = sh(bed, "rpi-1", "curl -sk https://127.0.0.1:6443/db/info").stdout
    return sorted(m["name"].rsplit("-", 1)[0] for m in json.loads(out)["members"])


def units(bed: tb.Testbed, hosts: dict[str, str]) -> dict[str, str]:
    return {
        h: sh(bed, h, f"systemctl show {u} -p MainPID -p ActiveEnterTimestamp -p NRestarts").stdout
        for h, u in hosts.items()
    }


def snap(bed: tb.Testbed, host: str) -> str:
    """The host's snapshot, less the testbed's reboot counter (reset's reboot leaves it)."""
    return without_markers(snapshot(next(h.container for h in bed.hosts if h.name == host)))


def check_status(expect: dict[str, str]) -> dict:
    """`status --json` validates against the shipped schema and lists ``expect``'s roles."""
    code, out = cli("status", "--json", "--cluster", NAME)
    assert code == 0, out
    data = json.loads(out)
    jsonschema.Draft202012Validator(json.loads(STATUS_SCHEMA.read_text())).validate(data)
    assert {n["hostname"]: n["role"] for n in data["nodes"]} == expect
    return data


@pytest.fixture(scope="module")
def bed(controller_home: Path, airgap: Path) -> Iterator[tb.Testbed]:
    for testbed in make_testbed(NAME, "10.213.104.0/24", nodes=5):
        S["airgap"] = airgap
        yield testbed


def test_1_bootstrap_one_server_on_sqlite_and_one_agent(bed: tb.Testbed, tmp_path_factory) -> None:
    # The user's own flag on rpi-1, before pi-k8s ever saw it.
    cmdline = "/boot/firmware/cmdline.txt"
    assert sh(bed, "rpi-1", f"sed -i '1s/$/ {USER_FLAG}/' {cmdline}").returncode == 0
    assert USER_FLAG in sh(bed, "rpi-1", f"cat {cmdline}").stdout
    S["before"] = {h: snap(bed, h) for h in HOSTS}
    inv = S["inventory"] = tmp_path_factory.mktemp("inv") / "hosts.yml"
    inv.write_text(
        yaml.safe_dump(cluster_inventory(bed, ["rpi-1"], ["rpi-4"], k3s_server_embedded_etcd=False))
    )
    started = time.monotonic()
    code, out = cli(
        "bootstrap", "-i", str(inv), "--airgap", str(S["airgap"]),
        "--k3s-version", STANDIN_VERSION, "--skip-workloads",
    )  # fmt: skip
    timed("1 bootstrap 1+1", started)
    assert code == 0, out
    state = clusters.load(NAME)
    assert state.datastore == "sqlite"
    assert [(m.hostname, m.role, m.order) for m in state.members] == [
        ("rpi-1", "server", 1),
        ("rpi-4", "agent", 2),
    ]
    assert ready(bed) == {"rpi-1": "True", "rpi-4": "True"}
    check_status({"rpi-1": "server", "rpi-4": "agent"})


def test_1b_the_cluster_state_is_valid_private_and_keeps_the_inventory(bed: tb.Testbed) -> None:
    path = clusters.cluster_dir(NAME) / "cluster.json"
    data = json.loads(path.read_text())
    jsonschema.Draft202012Validator(clusters.schema()).validate(data)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE((path.parent / "token").stat().st_mode) == 0o600
    ip = {h.name: h.ip for h in bed.hosts}
    assert data["api_endpoint"] == f"https://{ip['rpi-1']}:6443"
    assert data["k3s"] == {
        "version": STANDIN_VERSION,
        "channel": None,
        "source": "airgap",
        "location": str(S["airgap"].resolve()),
    }
    assert [(m["hostname"], m["ip"], m["role"]) for m in data["members"]] == [
        ("rpi-1", ip["rpi-1"], "server"),
        ("rpi-4", ip["rpi-4"], "agent"),
    ]
    assert data["inventory"] == str(S["inventory"].resolve())
    # The hand-written inventory is kept with the state, 0600.
    copy = path.parent / "inventory.yml"
    assert copy.read_text() == S["inventory"].read_text()
    assert stat.S_IMODE(copy.stat().st_mode) == 0o600
    assert [r["command"] for r in data["runs"]] == ["bootstrap"] and data["runs"][0]["ok"]
    code, out = cli("clusters", "--json")
    assert code == 0 and NAME in [c["name"] for c in json.loads(out)], out


def test_2_add_an_agent_leaves_the_members_alone(bed: tb.Testbed) -> None:
    before = units(bed, {"rpi-1": "k3s", "rpi-4": "k3s-agent"})
    rpi5 = next(h.ip for h in bed.hosts if h.name == "rpi-5")
    started = time.monotonic()
    code, out = cli("nodes", "add", rpi5, "--cluster", NAME, "--json")
    timed("2 nodes add agent", started)
    assert code == 0, out
    recap = json.loads(out)["recap"]
    assert recap["rpi-1"]["changed"] == 0 and recap["rpi-4"]["changed"] == 0, recap
    assert recap["rpi-5"]["changed"] > 0 and recap["rpi-5"]["failed"] == 0
    assert clusters.load(NAME).runs[-1].command == "nodes add"
    assert units(bed, {"rpi-1": "k3s", "rpi-4": "k3s-agent"}) == before  # no restart
    assert ready(bed) == {"rpi-1": "True", "rpi-4": "True", "rpi-5": "True"}
    assert clusters.load(NAME).member("rpi-5").order == 3
    check_status({"rpi-1": "server", "rpi-4": "agent", "rpi-5": "agent"})


def test_2b_a_member_is_refused_and_check_changes_nothing(bed: tb.Testbed, tmp_path: Path) -> None:
    before = clusters.load(NAME)
    inventory_before = Path(before.inventory).read_text()
    rpi4 = next(h.ip for h in bed.hosts if h.name == "rpi-4")
    code, out = cli("nodes", "add", rpi4, "-c", NAME)
    assert code == 2, out
    assert "rpi-4" in out and "already a member" in out and "(agent)" in out
    found = tmp_path / "d.json"
    found.write_text(
        json.dumps([{"ip": "10.213.104.251", "hostname": "rpi-7", "is_pi": True, "memory_mb": 900}])
    )
    code, out = cli("nodes", "add", "--from", str(found), "--check", "--json", "-c", NAME)
    assert code == 0, out
    plan = json.loads(out)["plan"]
    assert [n["hostname"] for n in plan["new"]] == ["rpi-7"]
    assert (plan["servers_before"], plan["servers_after"]) == (1, 1)
    assert json.loads(out)["status"] is None
    assert clusters.load(NAME) == before
    assert Path(clusters.load(NAME).inventory).read_text() == inventory_before


def test_3_servers_come_in_pairs_and_sqlite_moves_to_etcd(bed: tb.Testbed) -> None:
    ip = {h.name: h.ip for h in bed.hosts}
    before = clusters.load(NAME)
    code, out = cli("nodes", "add", ip["rpi-2"], "--role", "server", "--cluster", NAME)
    assert code == 2, out
    assert "makes 2" in out and "quorum" in out and "Add 2 servers" in out
    assert clusters.load(NAME) == before
    started = time.monotonic()
    code, out = cli("nodes", "add", ip["rpi-2"], ip["rpi-3"], "--role", "server", "-c", NAME)
    timed("3 nodes add 2 servers (SQLite to etcd)", started)
    assert code == 0, out
    assert "restarts with cluster-init first" in " ".join(out.split())
    state = clusters.load(NAME)
    assert state.datastore == "etcd"
    assert [m.hostname for m in state.servers] == ["rpi-1", "rpi-2", "rpi-3"]
    assert etcd_members(bed) == ["rpi-1", "rpi-2", "rpi-3"]
    assert set(ready(bed).values()) == {"True"} and len(ready(bed)) == 5
    check_status(
        {"rpi-1": "server", "rpi-4": "agent", "rpi-5": "agent", "rpi-2": "server",
         "rpi-3": "server"}
    )  # fmt: skip


def test_4_remove_the_agent_and_its_host_is_as_before(bed: tb.Testbed) -> None:
    started = time.monotonic()
    code, out = cli("nodes", "remove", "rpi-5", "--cluster", NAME)
    timed("4 nodes remove agent", started)
    assert code == 0, out
    assert "rpi-5" not in nodes(bed)
    assert clusters.load(NAME).member("rpi-5") is None
    assert snap(bed, "rpi-5") == S["before"]["rpi-5"]
    check_status({"rpi-1": "server", "rpi-4": "agent", "rpi-2": "server", "rpi-3": "server"})


def test_5_remove_a_server_needs_force_for_an_even_count(bed: tb.Testbed) -> None:
    before = clusters.load(NAME)
    code, out = cli("nodes", "remove", "rpi-3", "--cluster", NAME)
    assert code == 2, out
    assert "leaves 2 servers" in out and "--force" in out
    assert clusters.load(NAME) == before and "rpi-3" in nodes(bed)
    started = time.monotonic()
    code, out = cli("nodes", "remove", "rpi-3", "--force", "--cluster", NAME)
    timed("5 nodes remove server --force", started)
    assert code == 0, out
    assert "rpi-3" not in nodes(bed)
    assert etcd_members(bed) == ["rpi-1", "rpi-2"]
    assert [m.hostname for m in clusters.load(NAME).servers] == ["rpi-1", "rpi-2"]
    assert snap(bed, "rpi-3") == S["before"]["rpi-3"]
    check_status({"rpi-1": "server", "rpi-4": "agent", "rpi-2": "server"})


def test_6_reset_brings_every_host_back(bed: tb.Testbed) -> None:
    started = time.monotonic()
    code, out = cli("reset", "--yes", "--cluster", NAME)
    timed("6 reset", started)
    assert code == 0, out
    for host in HOSTS:
        assert snap(bed, host) == S["before"][host], host
    cmdline = sh(bed, "rpi-1", "cat /boot/firmware/cmdline.txt").stdout
    assert USER_FLAG in cmdline and "cgroup_memory=1" not in cmdline
    # The cluster is still remembered (no --forget): status shows its hosts without k3s.
    code, out = cli("status", "--json", "--cluster", NAME)
    assert code == 0, out
    jsonschema.Draft202012Validator(json.loads(STATUS_SCHEMA.read_text())).validate(json.loads(out))
