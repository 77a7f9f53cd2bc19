"""nodes add / nodes remove plans and refusals, on a remembered cluster, with --check
(no host is contacted: the new hosts come from a discovery file)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pi_k8s import clusters
from pi_k8s.ansible_vars import AnsibleInventory
from pi_k8s.clusters import K3sRelease, Run
from pi_k8s.errors import NothingFound, SpecError, UsageError
from pi_k8s.operations import Removal, add_nodes, remove_nodes

PI4 = "Raspberry Pi 4 Model B Rev 1.5"


@pytest.fixture(autouse=True)
def lab(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> clusters.ClusterState:
    """Cluster 'lab': servers rpi-1, rpi-4, rpi-5 and agents rpi-2, rpi-3."""
    monkeypatch.setenv("PI_K8S_STATE_DIR", str(tmp_path / "state"))
    servers, agents = ["rpi-1", "rpi-4", "rpi-5"], ["rpi-2", "rpi-3"]
    inv = AnsibleInventory(
        groups={"server": servers, "agent": agents},
        hostvars={
            h: {"cluster_name": "lab", "ansible_host": f"10.0.0.{h[-1]}", "pi_k8s_mac": f"m{h}"}
            for h in servers + agents
        },
    )
    path = tmp_path / "hosts.yml"
    path.write_text(
        json.dumps(
            {
                "all": {
                    "children": {
                        "k3s_cluster": {
                            "children": {
                                "server": {"hosts": {h: {} for h in servers}},
                                "agent": {"hosts": {h: {} for h in agents}},
                            },
                            "vars": {"cluster_name": "lab"},
                        }
                    }
                }
            }
        )
    )
    state = clusters.update_state(
        None,
        inv,
        path,
        release=K3sRelease("v1.31.4+k3s1", None),
        run=Run("bootstrap", "2026-11-30T10:00:00Z", True, "ok"),
    )
    clusters.save(state)
    return state


def hosts_file(tmp_path: Path, *hosts: dict) -> Path:
    path = tmp_path / "d.json"
    path.write_text(json.dumps(list(hosts)))
    return path


def pi(name: str, ip: str, **extra: object) -> dict:
    return {"hostname": name, "ip": ip, "is_pi": True, "model": PI4, "memory_mb": 3800, **extra}


def test_add_two_servers_plans_five(tmp_path: Path) -> None:
    found = hosts_file(tmp_path, pi("rpi-6", "10.0.0.6"), pi("rpi-7", "10.0.0.7"))
    plan = add_nodes([], role="server", from_file=found, check=True).plan
    assert [(h.hostname, role) for h, role in plan.new] == [
        ("rpi-6", "server"),
        ("rpi-7", "server"),
    ]
    assert (plan.servers_before, plan.servers_after, plan.migrate_to_etcd) == (3, 5, False)


def test_add_picks_named_hosts_and_refuses_members(tmp_path: Path) -> None:
    found = hosts_file(tmp_path, pi("rpi-6", "10.0.0.6"), pi("rpi-2", "10.0.0.2"))
    plan = add_nodes(["10.0.0.6"], from_file=found, check=True).plan
    assert [h.hostname for h, _ in plan.new] == ["rpi-6"]
    with pytest.raises(UsageError, match=r"rpi-2 \(10.0.0.2\) is already a member .*\(agent\)"):
        add_nodes(["rpi-2"], from_file=found, check=True)
    with pytest.raises(NothingFound, match="rpi-9 was not found in"):
        add_nodes(["rpi-9"], from_file=found, check=True)


def test_add_without_names_takes_every_new_pi_or_says_there_is_none(tmp_path: Path) -> None:
    found = hosts_file(
        tmp_path,
        pi("rpi-2", "10.0.0.2"),
        pi("rpi-6", "10.0.0.6"),
        {"hostname": "nas", "ip": "10.0.0.9", "is_pi": False},
        pi("rpi-8", "10.0.0.8", ssh_error="auth failed"),
    )
    plan = add_nodes([], from_file=found, check=True).plan
    assert [h.hostname for h, _ in plan.new] == ["rpi-6"]
    with pytest.raises(NothingFound, match="every Pi found there is already a member"):
        add_nodes([], from_file=hosts_file(tmp_path, pi("rpi-2", "10.0.0.2")), check=True)


def test_add_refuses_an_even_count_a_small_server_and_armv6(tmp_path: Path) -> None:
    found = hosts_file(
        tmp_path,
        pi("rpi-6", "10.0.0.6"),
        pi("rpi-7", "10.0.0.7", memory_mb=900),
        pi("zero", "10.0.0.8", model="Raspberry Pi Zero W Rev 1.1", kernel_arch="armv6l"),
    )
    with pytest.raises(UsageError, match="makes 4") as err:
        add_nodes(["rpi-6"], role="server", from_file=found, check=True)
    assert err.value.hint.startswith("Add 2 servers") and "--allow-even" in err.value.hint
    plan = add_nodes(["rpi-6"], role="server", from_file=found, allow_even=True, check=True).plan
    assert plan.servers_after == 4 and "--allow-even" in plan.notes[0]
    with pytest.raises(SpecError, match="2 GB of RAM on a server"):
        add_nodes(["rpi-7"], role="server", from_file=found, allow_even=True, check=True)
    assert add_nodes(["rpi-7"], from_file=found, check=True).plan.new[0][1] == "agent"
    with pytest.raises(SpecError, match="armv6"):
        add_nodes(["zero"], from_file=found, check=True)


def test_add_servers_to_a_sqlite_server_plans_the_migration(
    tmp_path: Path, lab: clusters.ClusterState
) -> None:
    lab.members = [m for m in lab.members if m.hostname in ("rpi-1", "rpi-2")]
    lab.datastore = "sqlite"
    clusters.save(lab)
    found = hosts_file(tmp_path, pi("rpi-6", "10.0.0.6"), pi("rpi-7", "10.0.0.7"))
    plan = add_nodes([], role="server", from_file=found, check=True).plan
    assert plan.migrate_to_etcd and plan.servers_after == 3
    assert "rpi-1 runs on SQLite: it restarts with cluster-init first" in plan.notes[0]


def test_remove_refusals() -> None:
    with pytest.raises(UsageError, match="rpi-9: not a member") as err:
        remove_nodes(["rpi-9"], check=True)
    assert err.value.hint == "Its members: rpi-1, rpi-4, rpi-5, rpi-2, rpi-3."
    with pytest.raises(UsageError, match="rpi-1 is the first server"):
        remove_nodes(["rpi-1"], check=True)
    with pytest.raises(UsageError, match="leaves 2 servers") as err:
        remove_nodes(["rpi-5"], check=True)
    assert "--force" in err.value.hint
    plan = remove_nodes(["rpi-5"], Removal(force=True), check=True).plan
    assert (plan.servers_before, plan.servers_after) == (3, 2)
    plan = remove_nodes(["rpi-4", "rpi-5"], check=True).plan
    assert plan.servers_after == 1
    assert [m.hostname for m in remove_nodes(["rpi-3", "rpi-3"], check=True).plan.nodes] == [
        "rpi-3"
    ]


def test_remove_the_last_server_is_refused(lab: clusters.ClusterState) -> None:
    lab.members = [m for m in lab.members if m.hostname in ("rpi-1", "rpi-2")]
    clusters.save(lab)
    with pytest.raises(UsageError, match="first server"):
        remove_nodes(["rpi-1"], check=True)
