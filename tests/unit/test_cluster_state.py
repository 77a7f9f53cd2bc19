"""The cluster state (cluster.json): schema, atomic 0600 writes, stable membership, and
which inventory a command acts on (--cluster / --inventory / the only cluster)."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import jsonschema
import pytest

from pi_k8s import clusters
from pi_k8s.ansible_vars import AnsibleInventory
from pi_k8s.clusters import K3sRelease, Run
from pi_k8s.errors import SpecError, UsageError
from pi_k8s.inventory import load_hosts, plan_inventory
from pi_k8s.operations import list_clusters, target_inventory
from pi_k8s.spec import parse_spec

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "inventory"
RELEASE = K3sRelease(version="v1.31.4+k3s1", channel=None, source="airgap")


@pytest.fixture(autouse=True)
def state_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("PI_K8S_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.chdir(tmp_path)
    return tmp_path / "state"


def inventory(servers: list[str], agents: list[str], name: str = "lab") -> AnsibleInventory:
    def hv(host: str) -> dict[str, object]:
        return {
            "cluster_name": name,
            "ansible_host": f"10.0.0.{int(host.split('-')[1])}",
            "pi_k8s_mac": f"dc:a6:32:00:00:{int(host.split('-')[1]):02x}",
            "pi_k8s_model": "Raspberry Pi 4 Model B Rev 1.5",
        }

    return AnsibleInventory(
        groups={"server": servers, "agent": agents, "k3s_cluster": servers + agents},
        hostvars={h: hv(h) for h in servers + agents},
    )


def run(ok: bool = True) -> Run:
    return Run(command="bootstrap", started="2026-11-30T10:00:00Z", ok=ok, summary="ok=1")


def write_inventory(tmp: Path) -> Path:
    path = tmp / "hosts.yml"
    path.write_text("all: {}\n")
    return path


def test_state_round_trips_and_is_written_0600_atomically(tmp_path: Path) -> None:
    state = clusters.update_state(
        None, inventory(["rpi-1"], ["rpi-2"]), write_inventory(tmp_path), release=RELEASE, run=run()
    )
    path = clusters.save(state)
    assert path == clusters.cluster_dir("lab") / "cluster.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert [p.name for p in path.parent.iterdir()] == ["cluster.json"]  # no temp file left
    data = json.loads(path.read_text())
    jsonschema.Draft202012Validator(clusters.schema()).validate(data)
    assert data["schema_version"] == clusters.SCHEMA_VERSION
    assert data["api_endpoint"] == "https://10.0.0.1:6443"
    assert data["datastore"] == "etcd"
    assert [(m["hostname"], m["role"], m["order"]) for m in data["members"]] == [
        ("rpi-1", "server", 1),
        ("rpi-2", "agent", 2),
    ]
    assert data["members"][1]["mac"] == "dc:a6:32:00:00:02"
    assert clusters.load("lab") == state


def test_the_schema_ships_in_the_package() -> None:
    import pi_k8s

    shipped = Path(pi_k8s.__file__).parent / "data" / "cluster.schema.json"
    assert shipped == clusters.model.SCHEMA_FILE
    jsonschema.Draft202012Validator.check_schema(json.loads(shipped.read_text()))


def test_a_damaged_state_file_is_a_spec_error_naming_the_field(tmp_path: Path) -> None:
    state = clusters.update_state(
        None, inventory(["rpi-1"], []), write_inventory(tmp_path), release=RELEASE, run=run()
    )
    path = clusters.save(state)
    data = json.loads(path.read_text())
    data["members"][0]["role"] = "boss"
    path.write_text(json.dumps(data))
    with pytest.raises(SpecError, match=r"members/0/role") as err:
        clusters.load("lab")
    assert err.value.hint
    path.write_text("{not json")
    with pytest.raises(SpecError, match="cannot be read"):
        clusters.load("lab")


def test_members_keep_their_order_and_date_new_hosts_come_after(tmp_path: Path) -> None:
    inv_path = write_inventory(tmp_path)
    first = clusters.update_state(
        None, inventory(["rpi-1"], ["rpi-2"]), inv_path, release=RELEASE, run=run()
    )
    first.members[0].joined = "2026-01-01T00:00:00Z"
    # rpi-3 (a new server) and rpi-4 (a new agent) are listed before the old members.
    second = clusters.update_state(
        first,
        inventory(["rpi-1", "rpi-3"], ["rpi-4", "rpi-2"]),
        inv_path,
        release=RELEASE,
        run=run(),
    )
    assert [(m.hostname, m.order) for m in second.members] == [
        ("rpi-1", 1),
        ("rpi-2", 2),
        ("rpi-3", 3),
        ("rpi-4", 4),
    ]
    assert second.member("rpi-1").joined == "2026-01-01T00:00:00Z"
    assert [m.hostname for m in second.servers] == ["rpi-1", "rpi-3"]
    assert len(second.runs) == 2


def test_the_runs_kept_are_the_last_twenty(tmp_path: Path) -> None:
    state = clusters.update_state(
        None, inventory(["rpi-1"], []), write_inventory(tmp_path), release=RELEASE, run=run()
    )
    for i in range(30):
        state.add_run(Run("verify", f"2026-11-30T10:{i:02d}:00Z", True, "ok"))
    clusters.save(state)
    runs = clusters.load("lab").runs
    assert len(runs) == 20 and runs[-1].started == "2026-11-30T10:29:00Z"


def test_an_inventory_that_changes_a_members_role_or_first_server_is_refused(
    tmp_path: Path,
) -> None:
    inv_path = write_inventory(tmp_path)
    state = clusters.update_state(
        None,
        inventory(["rpi-1", "rpi-2", "rpi-3"], ["rpi-4"]),
        inv_path,
        release=RELEASE,
        run=run(),
    )
    with pytest.raises(
        SpecError, match="rpi-4 is an agent of cluster 'lab', the inventory makes it a server"
    ) as err:
        clusters.check_membership(
            state, inventory(["rpi-1", "rpi-2", "rpi-4"], ["rpi-3"]), inv_path
        )
    assert "rpi-3 is a server of cluster 'lab', the inventory makes it an agent" in (
        err.value.message
    )
    assert "nodes remove" in err.value.hint
    with pytest.raises(SpecError, match=r"first server .* is rpi-1") as err:
        clusters.check_membership(
            state, inventory(["rpi-2", "rpi-1", "rpi-3"], ["rpi-4"]), inv_path
        )
    # New hosts and the same roles pass.
    clusters.check_membership(
        state, inventory(["rpi-1", "rpi-2", "rpi-3"], ["rpi-4", "rpi-5"]), inv_path
    )
    clusters.check_membership(None, inventory(["rpi-4"], ["rpi-1"]), inv_path)


def members(**roles: tuple[str, int]) -> dict[str, tuple[str, int]]:
    return {k.replace("_", "-"): v for k, v in roles.items()}


def test_a_bigger_new_pi_does_not_take_over_as_first_server() -> None:
    hosts = load_hosts(FIXTURES / "ranking" / "discovery.json")
    spec = parse_spec("name: lab\nservers: 1\n")
    best = plan_inventory(spec, hosts).servers[0].name
    assert best == "rk-usb"  # without membership the best-ranked host is the server
    kept = members(rk_sd_late=("server", 1), rk_usb=("agent", 2))
    plan = plan_inventory(spec, hosts, kept)
    assert [d.name for d in plan.servers] == ["rk-sd-late"]
    agents = [d.name for d in plan.agents]
    assert agents[0] == "rk-usb"  # the member agent first, then the new hosts by rank
    assert "membership" in plan.agents[0].reason
    assert plan.inventory["all"]["children"]["k3s_cluster"]["vars"]["cluster_api_endpoint"] == (
        next(h.ip for h in hosts if h.hostname == "rk-sd-late")
    )


def test_members_stay_first_and_new_servers_fill_the_free_slots() -> None:
    hosts = load_hosts(FIXTURES / "ranking" / "discovery.json")
    spec = parse_spec("name: lab\nservers: 3\n")
    plan = plan_inventory(spec, hosts, members(rk_sd_late=("server", 1)))
    names = [d.name for d in plan.servers]
    assert names[0] == "rk-sd-late" and len(names) == 3
    assert names[1:] == ["rk-usb", "rk-usb-late"]  # the best-ranked of the others


def test_more_member_servers_than_the_spec_asks_for_stay_servers_with_a_warning() -> None:
    hosts = load_hosts(FIXTURES / "ranking" / "discovery.json")
    kept = members(rk_sd_late=("server", 1), rk_sd_early=("server", 2), rk_usb=("server", 3))
    plan = plan_inventory(parse_spec("name: lab\nservers: 1\n"), hosts, kept)
    assert [d.name for d in plan.servers] == ["rk-sd-late", "rk-sd-early", "rk-usb"]
    assert any("already has 3 servers" in w for w in plan.warnings)


def test_an_override_cannot_move_a_member() -> None:
    hosts = load_hosts(FIXTURES / "ranking" / "discovery.json")
    spec = parse_spec("name: lab\nservers: 1\noverrides:\n  rk-usb: {role: server}\n")
    plan = plan_inventory(spec, hosts, members(rk_sd_late=("server", 1), rk_usb=("agent", 2)))
    assert [d.name for d in plan.servers] == ["rk-sd-late"]
    assert "overrides['rk-usb'] role: server is ignored: rk-usb is an agent of the cluster" in (
        " ".join(plan.warnings)
    )


def test_a_member_missing_from_the_hosts_is_refused() -> None:
    hosts = load_hosts(FIXTURES / "ranking" / "discovery.json")
    with pytest.raises(SpecError, match=r"gone-pi \(server\)") as err:
        plan_inventory(parse_spec("name: lab\n"), hosts, members(gone_pi=("server", 1)))
    assert "nodes remove" in err.value.hint


def save_cluster(name: str, tmp_path: Path) -> Path:
    inv = tmp_path / f"{name}.yml"
    inv.write_text("all: {}\n")
    clusters.save(
        clusters.update_state(None, inventory(["rpi-1"], [], name), inv, release=RELEASE, run=run())
    )
    return inv


def test_which_inventory_a_command_acts_on(tmp_path: Path) -> None:
    given = tmp_path / "given.yml"
    assert target_inventory(None, given) == given
    assert target_inventory(None, None) == Path("inventory/hosts.yml")  # nothing remembered
    with pytest.raises(UsageError, match="No cluster named 'lab'") as err:
        target_inventory("lab", None)
    assert "pi-k8s bootstrap" in err.value.hint
    lab = save_cluster("lab", tmp_path)
    assert target_inventory(None, None) == lab.resolve()  # the only cluster
    assert target_inventory("lab", None) == lab.resolve()
    home = save_cluster("home", tmp_path)
    with pytest.raises(UsageError, match=r"2 clusters \(home, lab\)") as err:
        target_inventory(None, None)
    assert "--cluster" in err.value.hint
    assert target_inventory("home", None) == home.resolve()
    with pytest.raises(UsageError, match="No cluster named 'nope'") as err:
        target_inventory("nope", None)
    assert "home, lab" in err.value.hint
    with pytest.raises(UsageError, match="exclude each other"):
        target_inventory("lab", given)
    home.unlink()
    with pytest.raises(UsageError, match="no longer exists"):
        target_inventory("home", None)


def test_list_clusters(tmp_path: Path) -> None:
    assert list_clusters() == []
    save_cluster("lab", tmp_path)
    (lab,) = list_clusters()
    assert (lab.name, lab.servers, lab.agents, lab.k3s_version) == ("lab", 1, 0, "v1.31.4+k3s1")
    assert lab.last_run["command"] == "bootstrap"
