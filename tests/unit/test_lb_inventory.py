"""`verify` and `deploy` check a hand-written inventory's LB pool and API VIP as bootstrap
does: a pool that cannot work is refused (exit 3, the same message as bootstrap, before
any host is contacted); a free pool with ``cluster_lb: metallb`` goes on to Ansible.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, NoReturn

import pytest
import yaml
from typer.testing import CliRunner

from pi_k8s.cli import app

runner = CliRunner(env={"COLUMNS": "200"})


def _never(what: str) -> Any:
    def fail(*args: object, **kwargs: object) -> NoReturn:
        raise AssertionError(f"{what} was called: the inventory must be refused first")

    return fail


INVENTORY = """\
all:
  children:
    k3s_cluster:
      children:
        server: {hosts: {s1: {ansible_host: 127.0.0.1}}}
        agent: {hosts: {a1: {ansible_host: 127.0.0.1}}}
      vars: {ansible_port: 1, %s}
"""
# group vars → what bootstrap, verify and deploy say about them.
BAD = {
    "pool_with_servicelb": (
        "cluster_lb_pool: 10.213.92.240/28",
        "cluster_lb_pool 10.213.92.240/28 is set but cluster_lb is servicelb",
        "hint: Set cluster_lb: metallb to hand out the pool",
    ),
    "pool_overlapping_the_vip": (
        "cluster_lb: metallb, cluster_lb_pool: 10.213.92.240/28, cluster_api_vip: 10.213.92.241",
        "cluster_lb_pool 10.213.92.240/28 overlaps the API VIP 10.213.92.241",
        "hint: MetalLB and keepalived would both answer that address",
    ),
    "pool_holding_a_member": (
        "cluster_lb: metallb, cluster_lb_pool: 127.0.0.0/30",
        "cluster_lb_pool 127.0.0.0/30 holds the address of a1 (127.0.0.1), s1 (127.0.0.1)",
        "hint: MetalLB would hand a node's address to a Service",
    ),
}
GOOD = "cluster_lb: metallb, cluster_lb_pool: 10.213.92.240-10.213.92.249"


def _inventory(tmp_path: Path, group_vars: str) -> Path:
    """One server and one agent on a closed loopback port, with ``group_vars``."""
    path = tmp_path / "hosts.yml"
    path.write_text(INVENTORY % group_vars)
    return path


def _refused(result: Any, case: str) -> None:
    _, message, hint = BAD[case]
    assert result.exit_code == 3, result.output
    assert message in result.stderr.replace("\n", " ")
    assert hint in result.stderr.replace("\n", " ")
    assert "Unexpected" not in result.output


@pytest.mark.parametrize("case", sorted(BAD))
def test_verify_refuses_a_pool_that_cannot_work(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, case: str
) -> None:
    import testinfra

    monkeypatch.setattr(testinfra, "get_host", _never("testinfra.get_host"))
    result = runner.invoke(app, ["verify", "-i", str(_inventory(tmp_path, BAD[case][0]))])
    _refused(result, case)


def _deploy(tmp_path: Path, group_vars: str) -> Any:
    (tmp_path / "config.yaml").write_text(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: hello\ndata:\n  a: b\n"
    )
    spec = tmp_path / "workloads.yaml"
    spec.write_text(
        yaml.safe_dump({"workloads": [{"name": "hello", "manifests": ["config.yaml"]}]})
    )
    inventory = _inventory(tmp_path, group_vars)
    return runner.invoke(app, ["deploy", "--spec", str(spec), "-i", str(inventory)])


@pytest.mark.parametrize("case", sorted(BAD))
def test_deploy_refuses_a_pool_that_cannot_work(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, case: str
) -> None:
    monkeypatch.setenv("PI_K8S_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setattr("pi_k8s.runner.run_playbook", _never("run_playbook"))
    _refused(_deploy(tmp_path, BAD[case][0]), case)
    assert not (tmp_path / "state" / "runs").exists()


def test_deploy_goes_on_to_ansible_with_a_free_metallb_pool(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PI_K8S_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setattr("pi_k8s.runner.run_playbook", _never("run_playbook"))
    result = _deploy(tmp_path, GOOD)
    assert "run_playbook was called" in result.output, result.output


def test_verify_refuses_a_vip_that_is_a_members_address(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import testinfra

    monkeypatch.setattr(testinfra, "get_host", _never("testinfra.get_host"))
    path = tmp_path / "hosts.yml"
    path.write_text(INVENTORY % "cluster_api_vip: 127.0.0.1")
    result = runner.invoke(app, ["verify", "-i", str(path)])
    assert result.exit_code == 3, result.output
    assert "cluster_api_vip 127.0.0.1 is the address of a1, s1" in result.stderr
