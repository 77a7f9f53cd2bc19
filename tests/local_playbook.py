"""Run a playbook on this machine from a unit test: the venv's ansible-playbook, no test host.

Used by the tests that run a role's task file for real on localhost (its filters, its
Jinja, its messages) where the testbed would add nothing.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parent.parent


def run_local_playbook(
    play: list[dict[str, Any]],
    tmp: Path,
    *,
    inventory: dict[str, Any] | None = None,
    env: dict[str, str] | None = None,
    cwd: Path = REPO,
) -> subprocess.CompletedProcess[str]:
    """Write ``play`` (and ``inventory``, if given) under ``tmp`` and run it."""
    (tmp / "play.yml").write_text(yaml.safe_dump(play))
    args = [str(Path(sys.executable).parent / "ansible-playbook")]
    if inventory is not None:
        (tmp / "hosts.yml").write_text(yaml.safe_dump(inventory))
        args += ["-i", str(tmp / "hosts.yml")]
    return subprocess.run(
        [*args, str(tmp / "play.yml")],
        capture_output=True,
        text=True,
        env=dict(os.environ, ANSIBLE_NOCOLOR="1", ANSIBLE_LOCALHOST_WARNING="0", **(env or {})),
        cwd=cwd,
        check=False,
    )


def run_json(
    play: list[dict[str, Any]], tmp: Path, env: dict[str, str] | None = None
) -> list[dict[str, Any]]:
    """Run ``play`` with the repository's ansible.cfg; return the first play's tasks as the
    json callback reports them. The run must pass and load every enabled callback."""
    proc = run_local_playbook(
        play,
        tmp,
        env={
            "ANSIBLE_CONFIG": str(REPO / "ansible.cfg"),
            "ANSIBLE_STDOUT_CALLBACK": "ansible.builtin.json",
            **(env or {}),
        },
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Skipping callback" not in proc.stderr, proc.stderr
    return json.loads(proc.stdout)["plays"][0]["tasks"]


def run_with_lookups(
    play: list[dict[str, Any]],
    tmp: Path,
    lookups: dict[str, str],
    env: dict[str, str] | None = None,
) -> list[dict[str, Any]]:
    """``run_json`` with the test's own lookup plugins (name: source), which look from
    inside the workers."""
    where = tmp / "lookup_plugins"
    where.mkdir()
    for name, source in lookups.items():
        (where / f"{name}.py").write_text(source)
    return run_json(play, tmp, {"ANSIBLE_LOOKUP_PLUGINS": str(where), **(env or {})})
