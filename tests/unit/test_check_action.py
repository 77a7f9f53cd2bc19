"""plugins/action/check.py (pik8s.cluster.check), through real ansible-playbook and the
repository's ansible.cfg, as the roles call it: ok where the error is empty (blank, a message
template whose branches stay empty, nothing at all), failed with the error as its message
otherwise, with no change either way."""

from __future__ import annotations

import json
from pathlib import Path

from tests.local_playbook import REPO, run_local_playbook

EMPTY = ["", "   ", "{% if bad %}\nit is bad\n{% endif %}", "{{ none }}"]


def _run(tmp_path: Path, errors: list[str]) -> dict:
    play = [
        {
            "hosts": "localhost",
            "connection": "local",
            "gather_facts": False,
            "vars": {"bad": False},
            "tasks": [{"pik8s.cluster.check": {"error": e}} for e in errors],
        }
    ]
    proc = run_local_playbook(
        play,
        tmp_path,
        env={"ANSIBLE_CONFIG": str(REPO / "ansible.cfg"), "ANSIBLE_STDOUT_CALLBACK": "json"},
    )
    return json.loads(proc.stdout)


def test_an_empty_error_passes(tmp_path: Path) -> None:
    out = _run(tmp_path, EMPTY)
    assert out["stats"]["localhost"]["ok"] == len(EMPTY)
    assert out["stats"]["localhost"]["failures"] == 0
    assert out["stats"]["localhost"]["changed"] == 0


def test_an_error_fails_the_host_with_it_as_the_message(tmp_path: Path) -> None:
    error = (
        "{% if not bad %}\n  cluster_name 'Home' is not a DNS label:\n  use lowercase.\n{% endif %}"
    )
    out = _run(tmp_path, [error, ""])
    tasks = out["plays"][0]["tasks"]
    result = tasks[0]["hosts"]["localhost"]
    assert result["failed"] is True and result["changed"] is False
    assert result["msg"] == "cluster_name 'Home' is not a DNS label:\n  use lowercase."
    assert len(tasks) == 1  # the host left the play at the failed check
    assert out["stats"]["localhost"]["failures"] == 1
