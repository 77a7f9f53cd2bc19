"""k3s_install's systemd unit, rendered by real Ansible on localhost (no test hosts).

The testbed's hosts are all containers, so the branch a Pi takes (modprobe before k3s
starts) never renders there. Both branches are rendered here from the role's template.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
TEMPLATE = REPO / "roles" / "k3s_install" / "templates" / "k3s.service.j2"
MODPROBES = ["ExecStartPre=-/sbin/modprobe br_netfilter", "ExecStartPre=-/sbin/modprobe overlay"]


def render(tmp_path: Path, in_container: bool) -> list[str]:
    dest = tmp_path / "k3s.service"
    extra = {
        "k3s_install_in_container": in_container,
        "k3s_install_bin_dir": "/usr/local/bin",
        "k3s_install_command": "server",
        "k3s_install_service": "k3s",
        "k3s_install_start_timeout": 0,
        "k3s_install_source": "airgap",
        "k3s_install_airgap_dir": "/srv/k3s",
        "k3s_install_wanted_version": "v1.31.4+k3s1",
    }
    env = dict(os.environ, ANSIBLE_NOCOLOR="1", ANSIBLE_LOCALHOST_WARNING="0")
    proc = subprocess.run(
        [
            str(Path(sys.executable).parent / "ansible"),
            "localhost",
            "-c",
            "local",
            "-m",
            "ansible.builtin.template",
            "-a",
            f"src={TEMPLATE} dest={dest}",
            "-e",
            json.dumps(extra),
        ],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return dest.read_text().splitlines()


@pytest.mark.parametrize(("in_container", "modprobes"), [(False, MODPROBES), (True, [])])
def test_modprobe_runs_before_k3s_only_on_a_host_with_its_own_kernel(
    tmp_path: Path, in_container: bool, modprobes: list[str]
) -> None:
    lines = render(tmp_path, in_container)
    assert [line for line in lines if "modprobe" in line and line.startswith("Exec")] == modprobes
    start = lines.index("ExecStart=/usr/local/bin/k3s server")
    # The modules are loaded before k3s starts.
    assert all(lines.index(m) < start for m in modprobes)
