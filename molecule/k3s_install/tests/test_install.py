"""k3s_install as a user meets it: the verified binary, a tampered release refused
before anything is placed, and the cluster token never shown by Ansible."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import testinfra

EPHEMERAL = Path(os.environ.get("MOLECULE_EPHEMERAL_DIRECTORY", "/nonexistent"))
SCENARIO = Path(__file__).resolve().parent.parent
VERSION = "v1.31.4+k3s1"


def _sha(release: Path, asset: str = "k3s") -> str:
    sums = (release / "sha256sum-amd64.txt").read_text().splitlines()
    return next(line.split()[0] for line in sums if line.split()[1] == asset)


def _playbook(playbook: str, *extra: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    env["ANSIBLE_ROLES_PATH"] = str(SCENARIO.parent.parent / "roles")
    env["ANSIBLE_FILTER_PLUGINS"] = str(SCENARIO.parent.parent / "plugins" / "filter")
    env["ANSIBLE_NOCOLOR"] = "1"
    return subprocess.run(
        [
            str(Path(sys.executable).parent / "ansible-playbook"),
            "-i",
            os.environ["MOLECULE_INVENTORY_FILE"],
            str(SCENARIO / playbook),
            "-v",
            *extra,
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
        check=False,
    )


@pytest.fixture(scope="module")
def server() -> Any:
    return testinfra.get_host("podman://mol-install-server1")


@pytest.fixture(scope="module")
def fresh() -> Any:
    return testinfra.get_host("podman://mol-install-fresh1")


@pytest.fixture(scope="module")
def token() -> str:
    path = EPHEMERAL / "state" / "token"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    return path.read_text().strip()


def test_single_server_runs_the_verified_binary(server: Any) -> None:
    assert server.file("/usr/local/bin/k3s").sha256sum == _sha(EPHEMERAL / "airgap")
    assert f"k3s version {VERSION}" in server.check_output("k3s --version")
    assert server.service("k3s").is_running and server.service("k3s").is_enabled
    assert server.socket("tcp://0.0.0.0:6443").is_listening
    config = server.file("/etc/rancher/k3s/config.yaml")
    assert config.mode == 0o600 and "cluster-init: true" in config.content_string


def test_tampered_binary_is_refused_before_it_is_placed(fresh: Any) -> None:
    tampered = EPHEMERAL / "tampered"
    proc = _playbook(
        "negative.yml",
        "-e",
        f"cluster_k3s_airgap_dir={tampered}",
        "-e",
        "cluster_k3s_version=v1.31.5+k3s1",
    )
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0, out
    assert "Checksum mismatch for k3s v1.31.5+k3s1" in out, out[-3000:]
    assert "mol-install-fresh1" in out
    assert _sha(tampered) in out  # the expected checksum is named
    assert not fresh.file("/usr/local/bin/k3s").exists
    assert not fresh.file("/var/lib/pi-k8s/download/k3s.new").exists
    assert not fresh.file("/etc/systemd/system/k3s.service").exists


def test_check_mode_on_a_fresh_host_plans_without_changing_it(fresh: Any) -> None:
    proc = _playbook(
        "negative.yml", "--check", "-e", f"cluster_k3s_airgap_dir={EPHEMERAL / 'airgap'}"
    )
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-3000:]
    assert f"k3s would be installed to {VERSION}" in out
    for path in ("/usr/local/bin/k3s", "/etc/rancher/k3s", "/etc/systemd/system/k3s.service"):
        assert not fresh.file(path).exists, path


def test_rerun_changes_nothing_and_never_shows_the_token(token: Any, server: Any) -> None:
    proc = _playbook("converge.yml", "-vv")
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-3000:]
    assert "changed=0" in out and "failed=0" in out
    assert token not in out
    env = server.file("/etc/systemd/system/k3s.service.env")
    assert env.mode == 0o600 and f"K3S_TOKEN={token}" in env.content_string
    assert token not in server.check_output("journalctl --no-pager -q -o cat 2>/dev/null || true")
