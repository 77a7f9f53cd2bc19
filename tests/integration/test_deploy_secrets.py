"""A Secret's values never reach the terminal, the run directories or the hosts' journals.

One podman test host in group `server` (testbed "w11b-secrets", 10.213.60.0/24). Like
test_deploy_testbed.py, nothing applies the files (k3s cannot run here): `deploy` places
them in k3s's manifests directory, which is all these tests need.

The module runs the real `pi-k8s` command four times, as a user would, with a Secret
whose values are distinctive strings: `deploy --check` on a fresh server, `deploy`,
`deploy --check` with one value changed, and `deploy` of the change with Ansible's
verbosity at -vvv (`ANSIBLE_VERBOSITY=3`: `pi-k8s deploy` has no verbosity flag, and
ansible-runner hands the environment to ansible-playbook). Then every byte the commands
printed, every file under `$PI_K8S_STATE_DIR` (the runs kept under `runs/` included) and
the host's journal are searched for the values, plain and base64-encoded.
"""

from __future__ import annotations

import base64
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from pi_k8s import paths
from pi_k8s import testbed as tb
from tests.conftest import make_testbed

pytestmark = [
    pytest.mark.testbed,
    pytest.mark.standin_only(reason="it copies the stand-in binary onto a host"),
]
# Ansible's own strategy: its -vvv output (the ssh connection's lines) is searched for secrets.
ANSIBLES_OWN_STRATEGY = True

MANIFESTS = "/var/lib/rancher/k3s/server/manifests"
STANDIN = Path(__file__).resolve().parent.parent / "standin" / "k3s"
SECRET_FILE = f"{MANIFESTS}/pi-k8s-creds.yaml"
PASSWORD_1 = f"s3cr3t-{uuid.uuid4().hex}"
PASSWORD_2 = f"s3cr3t-{uuid.uuid4().hex}"
TOKEN = f"t0ken-{uuid.uuid4().hex}"
TOKEN_B64 = base64.b64encode(TOKEN.encode()).decode()
NEEDLES = [PASSWORD_1, PASSWORD_2, TOKEN, TOKEN_B64]


def _exec(bed: tb.Testbed, *cmd: str) -> str:
    proc = subprocess.run(
        ["podman", "exec", bed.hosts[0].container, *cmd],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


@pytest.fixture(scope="module")
def bed(_private_state_dir: Path) -> Iterator[tb.Testbed]:
    yield from make_testbed("w11b-secrets", "10.213.60.0/24", nodes=1)


@pytest.fixture(scope="module")
def inventory(bed: tb.Testbed, tmp_path_factory: pytest.TempPathFactory) -> Path:
    data = yaml.safe_load(bed.inventory.read_text())
    inv = {
        "all": {
            "vars": data["all"]["vars"],
            "children": {"k3s_cluster": {"children": {"server": {"hosts": data["all"]["hosts"]}}}},
        }
    }
    path = tmp_path_factory.mktemp("secrets-inv") / "hosts.yml"
    path.write_text(yaml.safe_dump(inv))
    return path


def _write_spec(directory: Path, password: str) -> Path:
    (directory / "creds.yaml").write_text(
        yaml.safe_dump(
            {
                "apiVersion": "v1",
                "kind": "Secret",
                "metadata": {"name": "creds", "namespace": "default"},
                "type": "Opaque",
                "data": {"token": TOKEN_B64},
                "stringData": {"password": password},
            }
        )
    )
    spec = directory / "workloads.yaml"
    spec.write_text(yaml.safe_dump({"workloads": [{"name": "creds", "manifests": ["creds.yaml"]}]}))
    return spec


def _pi_k8s(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """The installed `pi-k8s` command in its own process: what a user's terminal would show."""
    proc = subprocess.run(
        [str(Path(sys.executable).parent / "pi-k8s"), *args],
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "COLUMNS": "200", **(env or {})},
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc


@dataclass
class Runs:
    outputs: dict[str, subprocess.CompletedProcess[str]]  # each command's stdout and stderr
    first_file: str  # the Secret's file on the server after the first deploy


@pytest.fixture(scope="module")
def runs(bed: tb.Testbed, inventory: Path, tmp_path_factory: pytest.TempPathFactory) -> Runs:
    """The four commands, in order."""
    directory = tmp_path_factory.mktemp("secrets-spec")
    _exec(bed, "rm", "-rf", "/var/lib/rancher")
    # deploy refuses a server without k3s; the stand-in (tests/standin/) is k3s here.
    subprocess.run(
        ["podman", "cp", str(STANDIN), f"{bed.hosts[0].container}:/usr/local/bin/k3s"],
        check=True,
        timeout=60,
    )
    _exec(bed, "chmod", "0755", "/usr/local/bin/k3s")
    out = {}
    spec = _write_spec(directory, PASSWORD_1)
    deploy = ["deploy", "--spec", str(spec), "-i", str(inventory), "--no-wait"]
    out["check-fresh"] = _pi_k8s(*deploy, "--check")
    out["deploy"] = _pi_k8s(*deploy)
    first_file = _exec(bed, "cat", SECRET_FILE)
    _write_spec(directory, PASSWORD_2)
    out["check-change"] = _pi_k8s(*deploy, "--check")
    out["deploy-vvv"] = _pi_k8s(*deploy, env={"ANSIBLE_VERBOSITY": "3"})
    return Runs(out, first_file)


def test_the_secret_is_on_the_server_in_a_file_only_root_reads(bed: tb.Testbed, runs: Runs) -> None:
    # The values the other tests search for are real: the deploys put them on the server.
    assert f"password: {PASSWORD_1}" in runs.first_file
    text = _exec(bed, "cat", SECRET_FILE)
    assert f"password: {PASSWORD_2}" in text
    assert f"token: {TOKEN_B64}" in text
    assert _exec(bed, "stat", "-c", "%a %U %G", SECRET_FILE) == "600 root root\n"
    assert _exec(bed, "stat", "-c", "%a %U", MANIFESTS) == "700 root\n"


def test_check_names_the_secret_keys_that_change_but_never_their_values(runs: Runs) -> None:
    fresh = runs.outputs["check-fresh"].stdout
    assert "creds\tpi-k8s-creds.yaml\twould be added\trpi-1" in fresh
    assert "+  token: (hidden)\n" in fresh
    assert "+  password: (hidden)\n" in fresh
    change = runs.outputs["check-change"].stdout
    assert "creds\tpi-k8s-creds.yaml\twould change\trpi-1" in change
    assert "-  password: (hidden, old value)\n+  password: (hidden, new value)\n" in change
    assert "-  token:" not in change and "+  token:" not in change


def test_no_secret_value_in_the_output_the_state_dir_or_the_journal(
    bed: tb.Testbed, runs: Runs
) -> None:
    hits = []
    for name, proc in runs.outputs.items():
        for stream in ("stdout", "stderr"):
            text = getattr(proc, stream)
            hits += [f"{name} {stream}: {n}" for n in NEEDLES if n in text]
    state = paths.state_dir()
    files = [p for p in state.rglob("*") if p.is_file() and not p.is_symlink()]
    logs = sorted(state.glob("runs/*-deploy/artifacts/*/stdout"))
    assert logs
    # The newest run (this module's last) logged at -vvv: verbose output was searched too.
    assert "ESTABLISH SSH CONNECTION" in logs[-1].read_text()
    for path in files:
        data = path.read_bytes()
        hits += [f"{path.relative_to(state)}: {n}" for n in NEEDLES if n.encode() in data]
    journal = _exec(bed, "journalctl", "--no-pager", "-o", "cat")
    assert "session opened for user root" in journal  # it recorded the runs (become)
    hits += [f"journal: {n}" for n in NEEDLES if n in journal]
    assert not hits, "\n".join(hits)


def test_no_vars_file_or_report_is_left_in_the_run_dirs(runs: Runs) -> None:
    left = sorted(
        str(p)
        for p in (paths.state_dir() / "runs").rglob("*")
        if p.name == "workloads-vars.json" or p.parent.name == "report"
    )
    assert not left, "\n".join(left)
