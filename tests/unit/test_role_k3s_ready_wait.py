"""k3s_install's Ready wait (tasks/start.yml), run for real on localhost (no test hosts).

One wait per play covers every node the play started or restarted, on the first server;
then each such host checks its own node. Here the "server" is localhost and its k3s is a
script that prints what `k3s kubectl get nodes -o json` would (or fails as it would), and
the handler's restart is a registered result: the wait's three outcomes are checked,
including the failure messages the testbed never produces.
"""

from __future__ import annotations

import json
import platform
import subprocess
import sys
from pathlib import Path

from tests.local_playbook import REPO, run_local_playbook

# The node name k3s_install waits for: this machine's, from its facts (as on a host).
NODE = platform.node().lower()


def _nodes(*ready: str) -> str:
    items = [
        {
            "metadata": {"name": name},
            "status": {"conditions": [{"type": "Ready", "status": "True"}]},
        }
        for name in ready
    ]
    return json.dumps({"items": items})


def _run(tmp: Path, k3s_script: str) -> subprocess.CompletedProcess[str]:
    k3s = tmp / "bin" / "k3s"
    k3s.parent.mkdir(exist_ok=True)
    k3s.write_text("#!/bin/sh\n" + k3s_script)
    k3s.chmod(0o755)
    inventory = {"all": {"children": {"server": {"hosts": {"localhost": {}}}}}}
    play = [
        {
            "hosts": "server",
            "connection": "local",
            "gather_facts": True,
            "gather_subset": ["min"],
            "vars": {
                "ansible_python_interpreter": sys.executable,
                "k3s_install_node_name": "{{ ansible_facts['nodename'] | lower }}",
                "k3s_install_bin_dir": str(k3s.parent),
                "k3s_install_server_group": "server",
                "k3s_install_service": "k3s",
                "k3s_install_wait_ready": True,
                "k3s_install_wait_retries": 1,
                "k3s_install_unit_existed": True,
                "_k3s_install_unit_off": False,
            },
            "tasks": [
                {
                    "name": "The handler restarted k3s (stands for it).",
                    "ansible.builtin.command": "true",
                    "register": "_k3s_install_restart",
                    "changed_when": True,
                },
                {"ansible.builtin.include_tasks": str(REPO / "roles/k3s_install/tasks/start.yml")},
            ],
        }
    ]
    return run_local_playbook(play, tmp, inventory=inventory)


def test_a_ready_node_passes_after_one_read(tmp_path: Path) -> None:
    result = _run(tmp_path, f"echo '{_nodes('other', NODE)}'\n")
    out = result.stdout + result.stderr
    assert result.returncode == 0, out
    assert "Wait until the nodes this play started or restarted" in out
    assert "FAILED - RETRYING" not in out, out
    # facts, the restart, the include, the wait, the check; the start task was skipped:
    # the handler's restart left k3s running.
    assert "ok=5" in out and "skipped=1" in out and "failed=0" in out, out


def test_a_node_that_never_gets_ready_fails_with_its_name(tmp_path: Path) -> None:
    result = _run(tmp_path, f"echo '{_nodes('other')}'\n")
    out = result.stdout + result.stderr
    assert result.returncode != 0, out
    assert "FAILED - RETRYING" in out, out  # it did wait
    assert f"{NODE} did not become a Ready node within 5 s of restarting k3s" in out, out
    assert "does not list it Ready" in out and "journalctl -u k3s" in out, out


def test_a_failing_kubectl_is_quoted_in_the_message(tmp_path: Path) -> None:
    result = _run(tmp_path, "echo 'The connection to the server was refused' >&2\nexit 1\n")
    out = result.stdout + result.stderr
    assert result.returncode != 0, out
    assert "failed: The connection to the server was refused" in out, out
