"""The bad-input corpus, part 1: cases refused before any host is contacted.

Each case runs the real `pi-k8s` command twice, piped and under a pseudo-terminal
(tests/badinput/runner.py), in a working directory of its own that also holds the run's
state dir (PI_K8S_STATE_DIR), HOME with a ~/.kube/config, and every file the case names.
Each run must exit with the documented code (pi_k8s/errors.py, README "Exit codes"),
name the problem, print a hint, show no traceback, and leave that whole directory
exactly as it was: no file written or removed, no mode changed (nothing reached Ansible,
so not even a run dir). The cases that reach testbed hosts are in test_on_hosts.py.

These run in the unit phase (`make unit`); none needs root or podman. A discover case
that passes validation sweeps loopback only (127.0.0.1/32, --no-mdns).
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from tests.badinput.cases import load
from tests.badinput.controller import tree
from tests.badinput.runner import MODES, assert_refused, run
from tests.conftest import STANDIN_VERSION, standin

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
SPEC = "name: lab\nk3s:\n  channel: stable\nservers: 1\n"
INVENTORY = (
    "all:\n  children:\n    k3s_cluster:\n      children:\n"
    "        server:\n          hosts:\n            pi-a: {ansible_host: 127.0.0.1, "
    "pi_k8s_arch: aarch64}\n        agent:\n          hosts: {}\n"
    "      vars:\n        cluster_k3s_version: " + STANDIN_VERSION + "\n"
)
WORKLOADS = "workloads:\n  - name: web\n    manifests: [web.yaml]\n"
# The cases: cases.yaml, section host_free (its header says what each key means).
CASES = load("host_free", INVENTORY=INVENTORY, WORKLOADS=WORKLOADS)


def _workdir(root: Path, case: dict[str, Any]) -> tuple[Path, dict[str, str]]:
    """The case's directory: work/ (the cwd, with its files), state/, home/.kube."""
    work = root / "work"
    work.mkdir()
    (work / "afile").write_text("a file, not a directory\n")
    (work / "notakey").write_text("not an SSH key\n")
    (work / "sticky").mkdir()
    (work / "sticky").chmod(0o1777)
    (work / "inv.yml").write_text(INVENTORY)
    shutil.copy(FIXTURES / "inventory" / "bad" / "discovery.json", work / "discovery.json")
    (work / "cluster.yaml").write_text(SPEC)
    for name in ("airgap", "airgap-no-arm64", "airgap-no-sum"):
        standin.build_airgap(work / name, STANDIN_VERSION)
    (work / "airgap-no-arm64" / "k3s-arm64").unlink()
    sums = work / "airgap-no-sum" / "sha256sum-arm64.txt"
    sums.write_text("".join(x for x in sums.read_text().splitlines(True) if "k3s-arm64\n" not in x))
    for name, text in case.get("files", {}).items():
        (work / name).write_text(text)
    home = root / "home"
    (home / ".kube").mkdir(parents=True)
    (home / ".kube" / "config").write_text("apiVersion: v1\nkind: Config\n")
    if case.get("state_is_a_file"):
        state = root / "state-file"
        state.write_text("not a directory\n")
    else:
        state = root / "state"
        state.mkdir(mode=0o700)
    return work, {"PI_K8S_STATE_DIR": str(state), "HOME": str(home)}


def _controller(root: Path) -> dict[str, str]:
    """``tree(root)`` without ~/.ansible: Ansible makes its local temp dir there as soon
    as pi-k8s loads an inventory with it, before any check (not pi-k8s's to keep)."""
    return {p: v for p, v in tree(root).items() if not p.startswith("home/.ansible")}


def test_the_corpus_has_its_share_of_cases() -> None:
    per_command: dict[str, int] = {}
    for name in CASES:
        command = name.split("_")[0]
        per_command[command] = per_command.get(command, 0) + 1
    assert len(CASES) >= 60, per_command
    for command in ("discover", "inventory", "bootstrap", "verify", "deploy", "reset", "testbed"):
        assert per_command.get(command, 0) >= 3, per_command


# Each case in each of its modes ("modes": a case that only holds piped, or on a pty).
RUNS = [(name, mode) for name in CASES for mode in MODES if mode in CASES[name].get("modes", MODES)]


@pytest.mark.parametrize(("name", "mode"), RUNS, ids=[f"{n}-{m}" for n, m in RUNS])
def test_bad_input_is_refused_and_nothing_changes(name: str, mode: str, tmp_path: Path) -> None:
    case = CASES[name]
    work, env = _workdir(tmp_path, case)
    before = _controller(tmp_path)
    result = run(mode, case["args"], env=env, cwd=work, timeout=120)
    assert_refused(result, case["exit"], case["expect"], case.get("hint"))
    assert _controller(tmp_path) == before, result.text
