"""README's first command, end to end: scripts/demo.sh (what `make demo` runs).

testbed up → discover → inventory from a spec → bootstrap (k3s stand-in) → verify →
nodes. The demo's inventory is the generated one (no `ansible_become` in it), so this
also proves verify and bootstrap work from what `pi-k8s inventory` writes.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from pi_k8s import testbed as tb

pytestmark = pytest.mark.testbed
# Ansible's own strategy, as users run by default (tests/integration/conftest.py).
ANSIBLES_OWN_STRATEGY = True

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def short_tmp() -> Iterator[Path]:
    """A directory with a short path: Ansible's SSH control sockets live under HOME, and a
    Unix socket's path holds 107 bytes at most (pytest-xdist's tmp_path is too deep)."""
    path = Path(tempfile.mkdtemp(prefix="pk8s-demo-"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def test_demo_runs_the_whole_job(short_tmp: Path) -> None:
    tmp_path = short_tmp
    env = {
        **os.environ,
        "PI_K8S_STATE_DIR": str(tmp_path / "state"),
        "HOME": str(tmp_path / "home"),
        "PI_K8S_DEMO_NAME": "e2e",
        "PI_K8S_DEMO_SUBNET": "10.213.23.0/24",
    }
    try:
        proc = subprocess.run(
            ["bash", str(REPO / "scripts" / "demo.sh")],
            env=env,
            capture_output=True,
            text=True,
            timeout=1200,
        )
        out = proc.stdout + proc.stderr
        assert proc.returncode == 0, out
        assert "TEST STAND-IN for k3s" in out  # said loudly
        assert ", 0 failed," in out  # verify passed
        # The nodes table from the first server: 3 Pis Ready, the non-Pi left out.
        nodes = proc.stdout.split("== 5/5", 1)[1]
        rows = [line.split() for line in nodes.splitlines() if line.startswith("rpi-")]
        assert sorted(r[0] for r in rows) == ["rpi-1", "rpi-2", "rpi-3"]
        assert all(r[1] == "Ready" for r in rows), rows
        assert (tmp_path / "home" / ".kube" / "e2e.yaml").stat().st_mode & 0o777 == 0o600
        assert (tmp_path / "home" / ".kube").stat().st_mode & 0o777 == 0o700
    finally:
        tb.down("e2e")  # podman resources are found by label, whatever the state dir
