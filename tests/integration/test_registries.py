"""Private registries (issue 17 §4) on a bootstrapped 1 server + 1 agent testbed ("rgx",
10.213.112.0/24): rpi-1 the server, rpi-2 the agent, running the k3s stand-in
(tests/standin/) installed through the airgap path. The stand-in does not read
registries.yaml (k3s's containerd does; nothing here pulls an image): these tests check
what pi-k8s is responsible for, the file k3s reads, its mode, and when k3s restarts.

The hand-written inventory sets cluster_registries: a mirror for docker.io with a
rewrite, a registry with a CA file and a username whose password is in a controller file,
and one whose token is in an environment variable. The real `pi-k8s bootstrap --json`
runs three times, in file order: the first bootstrap; the same again (changed=0, no
restart); then with the password file changed, at Ansible verbosity -vvv (exactly one
restart of each node's k3s). The password (both values) and the token are then searched
for in everything the commands printed, every file under $PI_K8S_STATE_DIR (the runs'
ansible-runner artifacts included) and both hosts' journals.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from pi_k8s import paths
from pi_k8s import testbed as tb
from tests.conftest import STANDIN_VERSION, host_sh, make_testbed
from tests.testbed_inventory import cluster_inventory

pytestmark = pytest.mark.testbed
# Ansible's own strategy: its -vvv output (the ssh connection's lines) is searched for secrets.
ANSIBLES_OWN_STRATEGY = True

PASSWORD_1 = f"rgx-pw-{uuid.uuid4().hex}"
PASSWORD_2 = f"rgx-pw-{uuid.uuid4().hex}"
TOKEN = f"rgx-token-{uuid.uuid4().hex}"
NEEDLES = [PASSWORD_1, PASSWORD_2, TOKEN]
TOKEN_ENV = "RGX_REGISTRY_TOKEN"
CA_TEXT = (
    "-----BEGIN CERTIFICATE-----\nrgx test CA (not a real certificate)\n-----END CERTIFICATE-----\n"
)
FILE = "/etc/rancher/k3s/registries.yaml"
UNITS = {"rpi-1": "k3s", "rpi-2": "k3s-agent"}
S: dict[str, Any] = {}  # what a step leaves for the next ones


def sh(bed: tb.Testbed, host: str, command: str) -> str:
    proc = host_sh(bed, host, command)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def unit_state(bed: tb.Testbed) -> dict[str, tuple[str, int]]:
    """Per host: k3s's InvocationID (new at each start) and how many starts the journal shows."""
    out = {}
    for host, unit in UNITS.items():
        inv = sh(bed, host, f"systemctl show {unit} -p InvocationID --value").strip()
        journal = sh(bed, host, f"journalctl -u {unit}.service -o cat --no-pager")
        starts = sum(
            1 for line in journal.splitlines() if line.startswith(f"Started {unit}.service")
        )
        out[host] = (inv, starts)
    return out


def bootstrap(inventory: Path, airgap: Path, **env: str) -> dict[str, Any]:
    """The installed `pi-k8s bootstrap --json` in its own process, as a user runs it."""
    proc = subprocess.run(
        [
            str(Path(sys.executable).parent / "pi-k8s"),
            "bootstrap",
            "-i",
            str(inventory),
            "--airgap",
            str(airgap),
            "--k3s-version",
            STANDIN_VERSION,
            "--skip-workloads",
            "--json",
        ],
        capture_output=True,
        text=True,
        timeout=900,
        env={**os.environ, "COLUMNS": "200", **env},
    )
    S.setdefault("outputs", []).append(proc)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return json.loads(proc.stdout)


@pytest.fixture(scope="module")
def bed(controller_home: Path) -> Iterator[tb.Testbed]:
    yield from make_testbed("rgx", "10.213.112.0/24", nodes=2)


@pytest.fixture(scope="module")
def setup(
    bed: tb.Testbed, airgap: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, Path]]:
    files = tmp_path_factory.mktemp("registry-files")
    ca = files / "ca.crt"
    ca.write_text(CA_TEXT)
    password = files / "registry.pass"
    password.write_text(PASSWORD_1 + "\n")
    password.chmod(0o600)
    registries = {
        "mirrors": {
            "docker.io": {
                "endpoint": ["https://mirror.rgx.lan:5000"],
                "rewrite": {"^library/(.*)": "hub/$1"},
            },
            "registry.rgx.lan:5000": {"endpoint": ["http://registry.rgx.lan:5000"]},
        },
        "configs": {
            "mirror.rgx.lan:5000": {
                "tls": {"ca_file": str(ca), "insecure_skip_verify": False},
                "auth": {"username": "puller", "password_file": str(password)},
            },
            "registry.rgx.lan:5000": {"auth": {"token_env": TOKEN_ENV}},
        },
    }
    inv = files / "hosts.yml"
    inv.write_text(
        yaml.safe_dump(cluster_inventory(bed, ["rpi-1"], ["rpi-2"], cluster_registries=registries))
    )
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(TOKEN_ENV, TOKEN)
        yield {"inventory": inv, "airgap": airgap, "password": password}


def expected(password: str) -> dict[str, Any]:
    """registries.yaml as k3s documents it (docs.k3s.io/installation/private-registry)."""
    return {
        "mirrors": {
            "docker.io": {
                "endpoint": ["https://mirror.rgx.lan:5000"],
                "rewrite": {"^library/(.*)": "hub/$1"},
            },
            "registry.rgx.lan:5000": {"endpoint": ["http://registry.rgx.lan:5000"]},
        },
        "configs": {
            "mirror.rgx.lan:5000": {
                "auth": {"username": "puller", "password": password},
                "tls": {
                    "ca_file": "/etc/rancher/k3s/registries.d/mirror.rgx.lan_5000/ca.crt",
                    "insecure_skip_verify": False,
                },
            },
            "registry.rgx.lan:5000": {"auth": {"auth": TOKEN}},
        },
    }


def test_0_a_hand_written_inventory_with_an_unset_variable_is_refused_before_any_change(
    bed: tb.Testbed, setup, tmp_path: Path
) -> None:
    data = yaml.safe_load(setup["inventory"].read_text())
    regs = data["all"]["children"]["k3s_cluster"]["vars"]["cluster_registries"]
    regs["configs"]["registry.rgx.lan:5000"]["auth"] = {"token_env": "RGX_NEVER_SET"}
    regs["mirrors"]["docker.io"]["endpoint"] = ["mirror.rgx.lan:5000"]
    bad = tmp_path / "hosts.yml"
    bad.write_text(yaml.safe_dump(data))
    proc = subprocess.run(
        [
            str(Path(sys.executable).parent / "pi-k8s"),
            "bootstrap",
            "-i",
            str(bad),
            "--airgap",
            str(setup["airgap"]),
            "--k3s-version",
            STANDIN_VERSION,
            "--skip-workloads",
        ],
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "COLUMNS": "200"},
    )
    S.setdefault("outputs", []).append(proc)
    text = " ".join((proc.stdout + proc.stderr).split())
    assert proc.returncode == 4, text
    unset = "the environment variable RGX_NEVER_SET is not set"
    assert f"configs['registry.rgx.lan:5000'].auth.token_env: {unset}" in text
    assert (
        "mirrors['docker.io'].endpoint: 'mirror.rgx.lan:5000' is not an http:// or https:// URL"
        in text
    )
    for host in UNITS:  # the validation play ran first: nothing of k3s is on the hosts
        assert host_sh(bed, host, "test -e /etc/rancher/k3s").returncode == 1, host


def test_1_bootstrap_writes_registries_yaml_0600_on_both_nodes(bed: tb.Testbed, setup) -> None:
    out = bootstrap(setup["inventory"], setup["airgap"])
    assert out["run"]["status"] == "successful"
    for host in UNITS:
        assert yaml.safe_load(sh(bed, host, f"cat {FILE}")) == expected(PASSWORD_1), host
        assert sh(bed, host, f"stat -c '%a %U %G' {FILE}") == "600 root root\n", host
        ca = "/etc/rancher/k3s/registries.d/mirror.rgx.lan_5000/ca.crt"
        assert sh(bed, host, f"cat {ca}") == CA_TEXT
        assert sh(bed, host, f"stat -c '%a %U' {ca}") == "644 root\n"
        assert sh(bed, host, f"systemctl is-active {UNITS[host]}") == "active\n"
    S["units"] = unit_state(bed)


def test_2_a_rerun_changes_nothing_and_restarts_nothing(bed: tb.Testbed, setup) -> None:
    out = bootstrap(setup["inventory"], setup["airgap"])
    assert {h: r["changed"] for h, r in out["run"]["recap"].items()} == {"rpi-1": 0, "rpi-2": 0}
    assert unit_state(bed) == S["units"]


def test_3_a_changed_password_restarts_each_node_exactly_once(bed: tb.Testbed, setup) -> None:
    setup["password"].write_text(PASSWORD_2 + "\n")
    out = bootstrap(setup["inventory"], setup["airgap"], ANSIBLE_VERBOSITY="3")
    changes = out["run"]["changes"]
    for host in UNITS:
        assert yaml.safe_load(sh(bed, host, f"cat {FILE}")) == expected(PASSWORD_2), host
        assert sh(bed, host, f"stat -c '%a' {FILE}") == "600\n"
        # The file's task logs nothing (no_log), so its change shows only in the recap's
        # count: the file and the restart its handler made, nothing else.
        assert changes[host] == ["Restart k3s."], changes
        assert out["run"]["recap"][host]["changed"] == 2, out["run"]["recap"]
    after = unit_state(bed)
    for host, (invocation, starts) in after.items():
        assert invocation != S["units"][host][0], host
        assert starts == S["units"][host][1] + 1, (host, S["units"][host], after[host])
    items = json.loads(sh(bed, "rpi-1", "k3s kubectl get nodes -o json"))["items"]
    assert sorted(n["metadata"]["name"] for n in items) == ["rpi-1", "rpi-2"]


def test_4_no_password_or_token_in_output_artifacts_or_journals(bed: tb.Testbed, setup) -> None:
    hits = []
    assert len(S["outputs"]) == 4
    for i, proc in enumerate(S["outputs"], 1):
        for stream in ("stdout", "stderr"):
            text = getattr(proc, stream)
            hits += [f"run {i} {stream}: {n}" for n in NEEDLES if n in text]
    state = paths.state_dir()
    logs = sorted(state.glob("runs/*-site/artifacts/*/stdout"))
    assert len(logs) >= 3
    # The last run logged at -vvv: verbose output was searched too.
    assert "ESTABLISH SSH CONNECTION" in logs[-1].read_text()
    for path in (p for p in state.rglob("*") if p.is_file() and not p.is_symlink()):
        data = path.read_bytes()
        hits += [f"{path.relative_to(state)}: {n}" for n in NEEDLES if n.encode() in data]
    for host in UNITS:
        journal = sh(bed, host, "journalctl --no-pager -o cat")
        assert "session opened for user root" in journal  # it recorded the runs (become)
        hits += [f"{host} journal: {n}" for n in NEEDLES if n in journal]
    assert not hits, "\n".join(hits)
