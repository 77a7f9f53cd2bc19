"""A cluster converged from the installed collection, by FQCN, as an Ansible user runs it.

The collection is built from this tree and installed offline into a temporary collections
path (tests/collection.py). Then, from a directory outside the repository with none of its
Ansible settings, `ansible-playbook pik8s.cluster.site` converges 1 server (rpi-1) and
1 agent (rpi-2) on the testbed `colx`, k3s coming from the stand-in through the airgap path
(tests/conftest.py ``airgap``). The cluster token is an extra variable read from a file
(-e @file), the way AWX hands a credential's injected variables to ansible-playbook: the
controller then keeps no token file. A second run changes nothing. Last, `pi-k8s bootstrap`
converges the same cluster from the repository's copy: its runs find the filters the roles
call by FQCN through the collection link in pi-k8s's state dir (pi_k8s.paths).
"""

from __future__ import annotations

import json
import os
import re
import secrets
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from pi_k8s import testbed as tb
from tests import collection as col
from tests.conftest import K3S_VERSION, make_testbed, run_bootstrap
from tests.conftest import host_sh as sh
from tests.testbed_inventory import cluster_inventory

pytestmark = pytest.mark.testbed

NAME = os.environ.get("PI_K8S_TEST_COL_NAME", "colx")
SUBNET = os.environ.get("PI_K8S_TEST_COL_SUBNET", "10.213.120.0/24")
TOKEN = secrets.token_hex(24)


@pytest.fixture(scope="module")
def bed(tmp_path_factory: pytest.TempPathFactory, airgap: Path) -> Iterator[dict]:
    tmp = tmp_path_factory.mktemp("col")
    root = col.install(col.build(tmp / "dist"), tmp / "collections")
    work = tmp / "elsewhere"
    (work / "home").mkdir(parents=True)
    for testbed in make_testbed(NAME, SUBNET, nodes=2):
        inventory = cluster_inventory(
            testbed,
            ["rpi-1"],
            ["rpi-2"],
            cluster_k3s_version=K3S_VERSION,
            cluster_k3s_source="airgap",
            cluster_k3s_airgap_dir=str(airgap),
        )
        (work / "hosts.yml").write_text(yaml.safe_dump(inventory))
        secret = work / "credential.yml"
        secret.touch(mode=0o600)
        secret.write_text(yaml.safe_dump({"cluster_token": TOKEN}))
        yield {"bed": testbed, "work": work, "root": root, "collections": tmp / "collections"}


def site(bed: dict) -> subprocess.CompletedProcess[str]:
    work = bed["work"]
    env = col.clean_env(work, bed["collections"])
    env.update(HOME=str(work / "home"), PI_K8S_STATE_DIR=str(work / "state"))
    env.pop("XDG_STATE_HOME", None)
    return subprocess.run(
        [
            str(col.BIN / "ansible-playbook"),
            "-i",
            "hosts.yml",
            "-e",
            "@credential.yml",
            f"{col.FQCN}.site",
        ],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
        timeout=1800,
    )


def recap(output: str) -> dict[str, dict[str, int]]:
    """PLAY RECAP lines → {host: {ok: n, changed: n, ...}}."""
    out = {}
    for host, counts in re.findall(r"^(\S+)\s+:\s+(ok=.*)$", output, re.M):
        out[host] = {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", counts)}
    return out


def test_site_by_fqcn_converges_a_server_and_an_agent(bed: dict) -> None:
    proc = site(bed)
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-2000:]
    counts = recap(proc.stdout)
    assert set(counts) == {"rpi-1", "rpi-2"}, proc.stdout[-3000:]
    assert all(c["failed"] == 0 and c["unreachable"] == 0 for c in counts.values()), counts
    assert TOKEN not in output

    testbed: tb.Testbed = bed["bed"]
    nodes = json.loads(sh(testbed, "rpi-1", "k3s kubectl get nodes -o json").stdout)["items"]
    assert sorted(n["metadata"]["name"] for n in nodes) == ["rpi-1", "rpi-2"]
    # The agent joined the first server's address (k3s_api_address, no endpoint set).
    address = next(h.ip for h in testbed.hosts if h.name == "rpi-1")
    agent = yaml.safe_load(sh(testbed, "rpi-2", "cat /etc/rancher/k3s/config.yaml").stdout)
    assert agent["server"] == f"https://{address}:6443"
    # The cluster runs with the token given as a variable; the controller wrote no token file.
    held = sh(testbed, "rpi-1", "cat /var/lib/rancher/k3s/server/token").stdout.strip()
    assert held.rsplit(":", 1)[-1] == TOKEN
    assert not list((bed["work"] / "state").rglob("token"))
    # The kubeconfig, in the controller user's ~/.kube, points at the first server.
    kubeconfig = yaml.safe_load((bed["work"] / "home" / ".kube" / f"{NAME}.yaml").read_text())
    assert kubeconfig["clusters"][0]["cluster"]["server"] == f"https://{address}:6443"


def test_second_run_changes_nothing(bed: dict) -> None:
    proc = site(bed)
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-2000:]
    counts = recap(proc.stdout)
    assert {h: c["changed"] for h, c in counts.items()} == {"rpi-1": 0, "rpi-2": 0}
    assert TOKEN not in proc.stdout + proc.stderr


def test_pi_k8s_bootstrap_finds_the_fqcn_filters_too(
    bed: dict, airgap: Path, controller_home: Path
) -> None:
    """The CLI adopts the token the servers hold (no cluster_token in its inventory)."""
    code, output = run_bootstrap(bed["work"] / "hosts.yml", airgap, "--no-verify")
    assert code == 0, output
    assert TOKEN not in output
    assert (controller_home / ".kube" / f"{NAME}.yaml").is_file()
