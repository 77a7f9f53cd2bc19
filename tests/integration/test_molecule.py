"""Run every molecule scenario (create → converge → idempotence → verify → destroy).

Each scenario converges real podman test hosts (the testbed image, laid out like Pis) and
checks them with testinfra; `molecule test` exits non-zero when any step fails,
including a second converge that reports a change.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SCENARIOS = sorted(p.parent.name for p in (REPO / "molecule").glob("*/molecule.yml"))

pytestmark = pytest.mark.testbed


def _env() -> dict[str, str]:
    env = dict(os.environ)
    bindir = str(Path(sys.executable).parent)
    env["PATH"] = bindir + os.pathsep + env.get("PATH", "")
    env.setdefault("ANSIBLE_FORCE_COLOR", "0")
    env["PY_COLORS"] = "0"
    return env


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_molecule_scenario(scenario: str) -> None:
    if os.geteuid() != 0 or not shutil.which("podman"):
        pytest.skip("molecule scenarios need root and podman (see docs/testing.md)")
    molecule = Path(sys.executable).parent / "molecule"
    proc = subprocess.run(
        [str(molecule), "test", "-s", scenario],
        cwd=REPO,
        env=_env(),
        capture_output=True,
        text=True,
        timeout=1800,
        check=False,
    )
    tail = "\n".join((proc.stdout + proc.stderr).splitlines()[-80:])
    assert proc.returncode == 0, f"molecule test -s {scenario} failed:\n{tail}"
