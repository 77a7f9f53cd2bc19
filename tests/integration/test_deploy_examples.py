"""`pi-k8s deploy` of examples/workloads.yaml with --wait, on real k3s only (issue 16 §3).

The stand-in runs no pods, so this module runs only when PI_K8S_E2E_K3S names real k3s
releases (.github/workflows/e2e.yml); without it every test skips, saying so. Testbed
"e2edeploy" on 10.213.109.0/24: rpi-1 the server, rpi-2 and rpi-3 agents. The examples'
images and the node-exporter chart come from the internet, which that workflow's runner has.
"""

from __future__ import annotations

import json
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
    for bed in make_testbed("e2edeploy", "10.213.109.0/24", nodes=3):
        inv = tmp_path_factory.mktemp("inv") / "hosts.yml"
        inv.write_text(yaml.safe_dump(cluster_inventory(bed, ["rpi-1"], ["rpi-2", "rpi-3"])))
        code, output = run_bootstrap(inv, airgap)
        assert code == 0, output
        yield {"bed": bed, "inventory": inv}


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
