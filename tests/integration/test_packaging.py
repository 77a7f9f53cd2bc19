"""The wheel carries the Ansible content: an installed pi-k8s works without a checkout."""

from __future__ import annotations

import os
import subprocess
import sys
import venv
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_wheel_installs_and_finds_its_playbooks_outside_the_repo(tmp_path: Path) -> None:
    wheels = tmp_path / "wheels"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(wheels), str(REPO)],
        check=True,
    )
    (wheel,) = wheels.glob("pi_k8s-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert "pi_k8s/_content/playbooks/site.yml" in names
    assert "pi_k8s/_content/ansible.cfg" in names
    # The filters several roles share (ansible.cfg names the folder).
    assert "pi_k8s/_content/plugins/filter/k3s_address.py" in names
    # The roles' own modules (ansible.cfg's library).
    assert "pi_k8s/_content/plugins/modules/pi_prereq_sysctl.py" in names
    assert any(n.startswith("pi_k8s/_content/roles/") for n in names)
    # The k3s stand-in is a test double: it must never ship.
    assert not [n for n in names if "standin" in n or n.startswith("tests/")]

    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=True)
    pip = env_dir / "bin" / "pip"
    subprocess.run([str(pip), "install", "-q", str(wheel)], check=True)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in {"PYTHONPATH", "VIRTUAL_ENV"}}
    env["PATH"] = "/usr/bin:/bin"  # not the repo's venv: the fresh one is found by path
    env["PI_K8S_STATE_DIR"] = str(tmp_path / "state")
    proc = subprocess.run(
        [str(env_dir / "bin" / "pi-k8s"), "bootstrap", "--syntax-check"],
        cwd=elsewhere,
        env=env,
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    site = next((env_dir / "lib").glob("python3*/site-packages"))
    assert f"syntax ok: {site}/pi_k8s/_content/playbooks/site.yml" in proc.stderr
