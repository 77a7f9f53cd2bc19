"""`verify` and `deploy` refuse a hand-written inventory asking for an LB pool.

bootstrap refuses ``cluster_lb_pool`` (no role implements it yet, see
tests/unit/test_bootstrap_flags.py); verify would check a cluster the inventory does not
describe, and deploy would place workloads on it, so both refuse it the same way: exit 3,
the same message and hint, before any host is contacted. ``cluster_api_vip`` is accepted
(roles/k3s_vip); verify refuses one that cannot work, as bootstrap does.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, NoReturn

import pytest
import yaml
from typer.testing import CliRunner

from pi_k8s.cli import app

runner = CliRunner(env={"COLUMNS": "200"})
VARS = {"cluster_lb_pool": "10.213.92.240/28"}


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
      vars: {ansible_port: 1, cluster_lb: metallb, %s: "%s"}
"""


def _inventory(tmp_path: Path, name: str) -> Path:
    """One server and one agent on a closed loopback port; ``name`` set in the group vars."""
    path = tmp_path / "hosts.yml"
    path.write_text(INVENTORY % (name, VARS[name]))
    return path


def _refused(result: Any, name: str) -> None:
    assert result.exit_code == 3, result.output
    assert f"{name} is not supported yet (set for a1, s1)" in result.stderr
    assert f"hint: Remove {name}: no role hands out an LB pool yet" in result.stderr.replace(
        "\n", " "
    )
    assert "Unexpected" not in result.output


@pytest.mark.parametrize("name", sorted(VARS))
def test_verify_refuses_an_lb_pool_inventory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    import testinfra

    monkeypatch.setattr(testinfra, "get_host", _never("testinfra.get_host"))
    result = runner.invoke(app, ["verify", "-i", str(_inventory(tmp_path, name))])
    _refused(result, name)


@pytest.mark.parametrize("name", sorted(VARS))
def test_deploy_refuses_an_lb_pool_inventory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    monkeypatch.setenv("PI_K8S_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setattr("pi_k8s.runner.run_playbook", _never("run_playbook"))
    (tmp_path / "config.yaml").write_text(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: hello\ndata:\n  a: b\n"
    )
    spec = tmp_path / "workloads.yaml"
    spec.write_text(
        yaml.safe_dump({"workloads": [{"name": "hello", "manifests": ["config.yaml"]}]})
    )
    inventory = _inventory(tmp_path, name)
    result = runner.invoke(app, ["deploy", "--spec", str(spec), "-i", str(inventory)])
    _refused(result, name)
    assert not (tmp_path / "state" / "runs").exists()


def test_verify_refuses_a_vip_that_is_a_members_address(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import testinfra

    monkeypatch.setattr(testinfra, "get_host", _never("testinfra.get_host"))
    path = tmp_path / "hosts.yml"
    path.write_text(INVENTORY % ("cluster_api_vip", "127.0.0.1"))
    result = runner.invoke(app, ["verify", "-i", str(path)])
    assert result.exit_code == 3, result.output
    assert "cluster_api_vip 127.0.0.1 is the address of a1, s1" in result.stderr
