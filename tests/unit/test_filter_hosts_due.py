"""plugins/filter/hosts_due.py: the hosts a later play of site.yml still has work on.

site.yml's use of it is proven on the testbed: tests/integration/test_bootstrap.py's no-op
run leaves its gated plays without hosts, and its drift test runs them on the one host
that drifted.
"""

from __future__ import annotations

import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "plugins" / "filter"))
from hosts_due import FilterModule, hosts_due, registered_nodes  # noqa: E402

sys.path.pop(0)


def test_hosts_noted_with_nothing_due_drop_out_in_order() -> None:
    hostvars = {
        "rpi-1": {"_x_nothing_due": True},
        "rpi-2": {"_x_nothing_due": False},
        "rpi-3": {"_x_nothing_due": "True"},
        "rpi-4": {"_x_nothing_due": "false"},
    }
    hosts = ["rpi-4", "rpi-3", "rpi-2", "rpi-1"]
    assert hosts_due(hosts, hostvars, "_x_nothing_due") == ["rpi-4", "rpi-2"]


def test_a_host_without_the_note_is_kept() -> None:
    hostvars = {"rpi-1": {"_x_nothing_due": True}, "rpi-2": {"other": True}}
    assert hosts_due(["rpi-1", "rpi-2", "rpi-9"], hostvars, "_x_nothing_due") == ["rpi-2", "rpi-9"]


def test_no_hosts_and_the_registration() -> None:
    assert hosts_due([], {}, "_x_nothing_due") == []
    assert hosts_due(None, {}, "_x_nothing_due") == []  # type: ignore[arg-type]
    assert FilterModule().filters() == {
        "hosts_due": hosts_due,
        "registered_nodes": registered_nodes,
    }


def test_with_several_notes_a_host_drops_out_only_when_each_says_nothing_is_due() -> None:
    hostvars = {
        "rpi-1": {"_a": True, "_b": True},
        "rpi-2": {"_a": True, "_b": False},
        "rpi-3": {"_a": True},
    }
    assert hosts_due(["rpi-1", "rpi-2", "rpi-3"], hostvars, "_a", "_b") == ["rpi-2", "rpi-3"]


def test_registered_nodes_by_host_in_order() -> None:
    """A recorded registration wins; an agent noted with nothing due counts with the name
    its note kept; a due host that never registered, and a host without notes, do not."""
    hostvars = {
        "rpi-1": {"k3s_install_registered_as": "rpi-1"},
        "rpi-2": {"_k3s_install_nothing_due": True, "_k3s_install_node_name": "rpi-2"},
        "rpi-3": {"_k3s_install_nothing_due": False, "_k3s_install_node_name": "rpi-3"},
        "rpi-4": {
            "_k3s_install_nothing_due": False,
            "_k3s_install_node_name": "rpi-4",
            "k3s_install_registered_as": "node-4",
        },
        "rpi-5": {"_k3s_install_nothing_due": "True", "_k3s_install_node_name": "pi5"},
        "rpi-6": {"other": 1},
        "rpi-7": {"_k3s_install_nothing_due": True},
    }
    hosts = ["rpi-5", "rpi-4", "rpi-3", "rpi-2", "rpi-1", "rpi-6", "rpi-7", "rpi-9"]
    got = registered_nodes(hosts, hostvars)
    assert got == {"rpi-5": "pi5", "rpi-4": "node-4", "rpi-2": "rpi-2", "rpi-1": "rpi-1"}
    assert list(got) == ["rpi-5", "rpi-4", "rpi-2", "rpi-1"]
    assert registered_nodes([], hostvars) == {}
