"""The cluster token is never lost, replaced or exposed; verify expects what bootstrap did.

The token logic of roles/k3s_install/tasks/preflight.yml runs here for real, through
``pi_k8s.runner`` on localhost (connection local): the "server" is this machine, and its
k3s token file is a file in the test's directory (``k3s_install_server_token_file``)
written in the form k3s writes (``K10<CA hash>::server:<secret>``, docs.k3s.io/cli/token).
The live cluster cases are in tests/integration/test_cluster_token.py.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import platform
import sys
from pathlib import Path
from typing import Any, NoReturn

import pytest
import yaml
from typer.testing import CliRunner

from pi_k8s import runner
from pi_k8s.cli import app

REPO = Path(__file__).resolve().parents[2]
CLI = CliRunner(env={"COLUMNS": "200"})
SECRET = "s3cretS3cretS3cretS3cretS3cret42"
SERVER_TOKEN = f"K10{'ab' * 32}::server:{SECRET}\n"


def _filter() -> Any:
    spec = importlib.util.spec_from_file_location("k3s_token", REPO / "plugins/filter/k3s_token.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.k3s_token_secret


@pytest.mark.parametrize(
    ("token", "secret"),
    [
        (SERVER_TOKEN, SECRET),  # a server's token file: secure form, user "server"
        (f"K10{'cd' * 32}::{SECRET}", SECRET),  # secure form with a bearer token
        (SECRET, SECRET),  # short form: the secret itself
        (f"  {SECRET}\n", SECRET),
        ("K10notsecure", "K10notsecure"),  # no "::": a short token that starts with K10
    ],
)
def test_token_secret_is_what_k3s_compares(token: str, secret: str) -> None:
    assert _filter()(token) == secret


# ----------------------------------------------------------------------------- role, localhost


def _run_preflight(
    tmp: Path, *, server_token: str | None = None, **group_vars: Any
) -> runner.RunResult:
    """k3s_install's preflight on localhost, as the only server of cluster ``w11d``."""
    token_file = tmp / "server" / "token"
    if server_token is not None:
        token_file.parent.mkdir(exist_ok=True)
        token_file.write_text(server_token)
    inventory = {
        "all": {
            "children": {
                "k3s_cluster": {
                    "children": {"server": {"hosts": {"ctl": None}}, "agent": {"hosts": {}}},
                    "vars": {
                        "ansible_connection": "local",
                        "ansible_python_interpreter": sys.executable,
                        "cluster_name": "w11d",
                        "cluster_k3s_source": "airgap",
                        "cluster_k3s_airgap_dir": str(tmp / "airgap"),
                        "k3s_install_server_token_file": str(token_file),
                        **group_vars,
                    },
                }
            }
        }
    }
    (tmp / "hosts.yml").write_text(yaml.safe_dump(inventory))
    _airgap_for_this_machine(tmp / "airgap")
    play = [
        {
            "name": "Run k3s_install's preflight.",
            "hosts": "server",
            "gather_facts": True,
            "gather_subset": ["min"],
            "tasks": [
                {
                    "name": "Check and get the cluster token.",
                    "ansible.builtin.include_role": {
                        "name": "k3s_install",
                        "tasks_from": "preflight.yml",
                    },
                }
            ],
        }
    ]
    (tmp / "play.yml").write_text(yaml.safe_dump(play, sort_keys=False))
    return runner.run_playbook(tmp / "play.yml", inventory=tmp / "hosts.yml")


def _airgap_for_this_machine(directory: Path) -> None:
    """The files the preflight's validation looks for: a binary and its checksum line."""
    arch, asset = {"x86_64": ("amd64", "k3s"), "aarch64": ("arm64", "k3s-arm64")}.get(
        platform.machine(), ("arm", "k3s-armhf")
    )
    directory.mkdir(exist_ok=True)
    binary = directory / asset
    binary.write_bytes(b"not a real k3s: preflight only checks that it is listed\n")
    digest = hashlib.sha256(binary.read_bytes()).hexdigest()
    (directory / f"sha256sum-{arch}.txt").write_text(f"{digest}  {asset}\n")


@pytest.fixture
def xdg_only(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """PI_K8S_STATE_DIR unset, XDG_STATE_HOME set, HOME elsewhere: state is in XDG's."""
    monkeypatch.delenv("PI_K8S_STATE_DIR", raising=False)
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "xdg"))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    (tmp_path / "home").mkdir()
    return tmp_path / "xdg" / "pi-k8s"


def _token_file(state: Path) -> Path:
    return state / "clusters" / "w11d" / "token"


def test_runner_passes_the_state_dir_and_the_token_lands_under_xdg_state_home(
    tmp_path: Path, xdg_only: Path
) -> None:
    result = _run_preflight(tmp_path)
    assert result.ok, result.failures
    token = _token_file(xdg_only)
    assert token.stat().st_mode & 0o777 == 0o600
    assert len(token.read_text().strip()) == 64
    assert not (tmp_path / "home" / ".local").exists()
    # The runner passed its state dir to the playbook as an extra var.
    command = json.loads((result.artifacts / "command").read_text())["command"]
    extravars = json.loads(command[command.index("-e") + 1])
    assert extravars["pi_k8s_state_dir"] == str(xdg_only.resolve())


def test_a_missing_controller_token_adopts_the_running_clusters(
    tmp_path: Path, xdg_only: Path
) -> None:
    result = _run_preflight(tmp_path, server_token=SERVER_TOKEN)
    assert result.ok, result.failures
    token = _token_file(xdg_only)
    assert token.read_text() == SECRET + "\n"
    assert token.stat().st_mode & 0o777 == 0o600
    assert token.parent.stat().st_mode & 0o777 == 0o700


def test_a_controller_token_of_the_same_secret_is_accepted(tmp_path: Path, xdg_only: Path) -> None:
    token = _token_file(xdg_only)
    token.parent.mkdir(parents=True)
    token.write_text(SERVER_TOKEN)  # the full form of the same secret
    result = _run_preflight(tmp_path, server_token=SERVER_TOKEN)
    assert result.ok, result.failures
    assert token.read_text() == SERVER_TOKEN


def test_a_controller_token_that_differs_from_the_clusters_is_refused(
    tmp_path: Path, xdg_only: Path
) -> None:
    token = _token_file(xdg_only)
    token.parent.mkdir(parents=True)
    token.write_text("another-token-entirely\n")
    result = _run_preflight(tmp_path, server_token=SERVER_TOKEN)
    assert not result.ok
    [failure] = result.failures
    assert failure.task == (
        "Ensure the servers agree on the cluster token and the controller holds it."
    )
    assert f"{token} differs from the token the cluster runs with (on ctl)" in failure.message
    assert "Remove that file to adopt the cluster's token" in failure.message
    assert token.read_text() == "another-token-entirely\n"  # left as it was
    assert SECRET not in failure.message and "another-token-entirely" not in failure.message


def test_a_cluster_token_in_the_inventory_that_differs_is_refused(
    tmp_path: Path, xdg_only: Path
) -> None:
    result = _run_preflight(tmp_path, server_token=SERVER_TOKEN, cluster_token="not-the-one")
    assert not result.ok
    [failure] = result.failures
    assert "cluster_token (inventory) differs from the token the cluster runs with" in (
        failure.message
    )
    assert "Unset cluster_token to adopt" in failure.message
    assert not _token_file(xdg_only).exists()


@pytest.mark.parametrize("key", ["token", "agent-token", "token-file"])
def test_a_token_in_the_k3s_config_is_refused_by_the_role(
    tmp_path: Path, xdg_only: Path, key: str
) -> None:
    result = _run_preflight(tmp_path, k3s_install_config={key: "x", "disable": ["traefik"]})
    assert not result.ok
    [failure] = result.failures
    assert f"k3s_server_config for ctl sets {key}: the cluster token is the only way" in (
        failure.message
    )


# ----------------------------------------------------------------------------- CLI


class AnsibleStarted(Exception):
    """Raised instead of running Ansible: bootstrap got that far."""


def _never(*args: object, **kwargs: object) -> NoReturn:
    raise AnsibleStarted()


def _inventory(tmp_path: Path, group_vars: dict[str, Any]) -> Path:
    inv = {
        "all": {
            "children": {
                "k3s_cluster": {
                    "children": {
                        "server": {"hosts": {"pi-a": {"ansible_host": "10.213.80.10"}}},
                        "agent": {"hosts": {"pi-b": {"ansible_host": "10.213.80.11"}}},
                    },
                    "vars": group_vars,
                }
            }
        }
    }
    path = tmp_path / "hosts.yml"
    path.write_text(yaml.safe_dump(inv))
    return path


@pytest.mark.parametrize(
    ("var", "key"),
    [
        ("k3s_server_config", "token"),
        ("k3s_server_config", "agent-token"),
        ("k3s_agent_config", "token"),
        ("k3s_agent_config", "token-file"),
    ],
)
def test_a_token_in_the_k3s_config_is_refused_before_ansible(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, var: str, key: str
) -> None:
    monkeypatch.setattr("pi_k8s.runner.run_playbook", _never)
    inv = _inventory(tmp_path, {var: {key: "x"}})
    result = CLI.invoke(app, ["bootstrap", "-i", str(inv), "--no-verify"])
    assert result.exit_code == 3, result.output
    assert "AnsibleStarted" not in result.output
    assert f"{var} sets {key} (for pi-a, pi-b): the cluster token is the only way" in (
        result.stderr
    )
    assert f"hint: Remove {key} from {var}." in result.stderr


@pytest.mark.parametrize(
    ("flags", "expected"),
    [
        (["--k3s-version", "v1.31.5+k3s1"], "v1.31.5+k3s1"),  # what this run installed
        (["--k3s-channel", "stable"], ""),  # the channel chose: no particular one
        ([], None),  # the inventory's cluster_k3s_version
    ],
)
def test_bootstrap_makes_verify_expect_the_version_it_installed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, flags: list[str], expected: str | None
) -> None:
    from pi_k8s.verify import CheckResult, VerifyReport

    ok = runner.RunResult("site.yml", "successful", 0, tmp_path)
    monkeypatch.setattr("pi_k8s.runner.run_playbook", lambda *a, **k: ok)
    seen: list[dict[str, Any]] = []

    def fake_verify(inventory: Path, **kwargs: Any) -> VerifyReport:
        seen.append(kwargs)
        return VerifyReport([CheckResult("pi-a", "k3s version", "pass")])

    monkeypatch.setattr("pi_k8s.verify.verify", fake_verify)
    inv = _inventory(tmp_path, {"cluster_k3s_version": "v1.31.4+k3s1"})
    result = CLI.invoke(app, ["bootstrap", "-i", str(inv), *flags])
    assert result.exit_code == 0, result.output
    assert [s.get("version", "not passed") for s in seen] == [expected]
