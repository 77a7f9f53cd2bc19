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
from hosts_due import FilterModule, hosts_due  # noqa: E402

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
    assert FilterModule().filters() == {"hosts_due": hosts_due}


def test_with_several_notes_a_host_drops_out_only_when_each_says_nothing_is_due() -> None:
    hostvars = {
        "rpi-1": {"_a": True, "_b": True},
        "rpi-2": {"_a": True, "_b": False},
        "rpi-3": {"_a": True},
    }
    assert hosts_due(["rpi-1", "rpi-2", "rpi-3"], hostvars, "_a", "_b") == ["rpi-2", "rpi-3"]
