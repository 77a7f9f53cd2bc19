"""What only real k3s can show (issue 16 §3 and §4): `pi-k8s deploy` of
examples/workloads.yaml with --wait, and a recording of real k3s outputs for the stand-in's
contract (tests/standin/record.py).

The stand-in runs no pods, so this module runs only when PI_K8S_E2E_K3S names real k3s
releases (.github/workflows/e2e.yml); without it every test skips, saying so. Testbed
"e2ereal" on 10.213.109.0/24: rpi-1 the server, rpi-2 and rpi-3 agents, rpi-4 a spare host
without k3s (record.py's wrong-token attempts run there). The examples' images and the
node-exporter chart come from the internet, which that workflow's runner has. The recording
goes to <pytest basetemp>/k3s-recording0/, which e2e.yml uploads.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from pi_k8s import testbed as tb
from pi_k8s.cli import app
from tests.conftest import REPO, make_testbed, run_bootstrap
from tests.conftest import host_sh as sh
from tests.testbed_inventory import cluster_inventory

pytestmark = [pytest.mark.testbed, pytest.mark.real_k3s]

SPEC = REPO / "examples" / "workloads.yaml"


@pytest.fixture(scope="module")
def cluster(
    tmp_path_factory: pytest.TempPathFactory, controller_home: Path, airgap: Path
) -> Iterator[dict]:
    for bed in make_testbed("e2ereal", "10.213.109.0/24", nodes=4):
        inv = tmp_path_factory.mktemp("inv") / "hosts.yml"
        inv.write_text(yaml.safe_dump(cluster_inventory(bed, ["rpi-1"], ["rpi-2", "rpi-3"])))
        code, output = run_bootstrap(inv, airgap)
        assert code == 0, output
        yield {"bed": bed, "inventory": inv, "airgap": airgap}


def deploy(inventory: Path, *args: str) -> tuple[int, dict]:
    result = CliRunner().invoke(
        app, ["deploy", "--spec", str(SPEC), "-i", str(inventory), "--json", "--wait", *args]
    )
    assert result.exit_code in (0, 4, 5), result.output
    return result.exit_code, json.loads(result.stdout)


def test_deploy_of_the_examples_waits_until_they_run(cluster: dict) -> None:
    code, report = deploy(cluster["inventory"])
    assert code == 0, report
    assert {w["name"]: w["action"] for w in report["workloads"]} == {
        "hello-web": "added",
        "node-exporter": "added",
    }, report
    rollouts = report["rollouts"]
    assert rollouts["timed_out"] is False, report
    assert {s["state"] for s in rollouts["statuses"]} == {"ready"}, report
    assert {s["workload"] for s in rollouts["statuses"]} == {"hello-web", "node-exporter"}
    bed: tb.Testbed = cluster["bed"]
    out = sh(bed, "rpi-1", "k3s kubectl -n default get deployment hello-web -o json").stdout
    assert json.loads(out)["status"].get("readyReplicas") == 2, out


def test_a_second_deploy_changes_nothing_and_still_waits(cluster: dict) -> None:
    code, report = deploy(cluster["inventory"])
    assert code == 0, report
    assert {w["action"] for w in report["workloads"]} == {"unchanged"}, report
    assert {s["state"] for s in report["rollouts"]["statuses"]} == {"ready"}, report


def test_record_real_k3s_outputs(cluster: dict, tmp_path_factory: pytest.TempPathFactory) -> None:
    bed: tb.Testbed = cluster["bed"]
    server = next(h for h in bed.hosts if h.name == "rpi-1")
    spare = next(h for h in bed.hosts if h.name == "rpi-4")
    subprocess.run(
        ["podman", "cp", str(cluster["airgap"] / "k3s"), f"{spare.container}:/var/tmp/k3s"],
        check=True,
    )
    out = tmp_path_factory.mktemp("k3s-recording")
    proc = subprocess.run(
        [
            sys.executable,
            str(REPO / "tests" / "standin" / "record.py"),
            "--out",
            str(out),
            "--server-url",
            f"https://{server.ip}:6443",
            "--via",
            f"podman exec {server.container}",
            "--join-via",
            f"podman exec {spare.container}",
            "--join-k3s",
            "/var/tmp/k3s",
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr
    names = {p.name for p in out.iterdir()}
    assert names == {
        "version.txt",
        "get-nodes.json",
        "token-format.json",
        "wrong-token.json",
        "manifest.json",
    }
    items = json.loads((out / "get-nodes.json").read_text())["items"]
    assert {n["metadata"]["name"] for n in items} == {"rpi-1", "rpi-2", "rpi-3"}
    token = sh(bed, "rpi-1", "cat /var/lib/rancher/k3s/server/token").stdout.strip()
    secret = token.split("::server:", 1)[-1]
    for f in out.iterdir():
        assert secret not in f.read_text(), f.name
