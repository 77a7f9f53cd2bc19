"""--fast (issue 18): Mitogen's strategy for the runs inside, opt-in, checked before any run.

tests/integration/test_lb.py runs a real no-op bootstrap with --fast on the testbed
(changed=0, no deprecation warning in the run's output).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from pi_k8s import fast, runner
from pi_k8s.cli import app
from pi_k8s.errors import UsageError
from tests.unit.runner_double import capture_runs


def test_outside_fast_the_runs_use_ansibles_own_strategy() -> None:
    assert fast.ansible_env() == {}


def test_inside_fast_the_runs_use_mitogen_and_hide_the_deprecation() -> None:
    with fast.fast_strategy():
        env = fast.ansible_env()
    assert env["ANSIBLE_STRATEGY"] == "mitogen_linear"
    assert (Path(env["ANSIBLE_STRATEGY_PLUGINS"]) / "mitogen_linear.py").is_file()
    assert env["ANSIBLE_DEPRECATION_WARNINGS"] == "False"
    assert fast.ansible_env() == {}  # only inside
    with fast.fast_strategy(False):
        assert fast.ansible_env() == {}


def test_without_mitogen_fast_is_a_usage_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "ansible_mitogen", None)  # import fails
    with pytest.raises(UsageError) as exc, fast.fast_strategy():
        pass
    assert "--fast needs Mitogen" in exc.value.message
    assert exc.value.hint and "pi-k8s[fast]" in exc.value.hint


def test_bootstrap_fast_without_mitogen_stops_before_ansible(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setitem(sys.modules, "ansible_mitogen", None)
    monkeypatch.setenv("PI_K8S_STATE_DIR", str(tmp_path / "state"))

    def never(*_: Any, **__: Any) -> Any:
        raise AssertionError("bootstrap ran although --fast cannot work")

    monkeypatch.setattr(runner, "run_playbook", never)
    inv = tmp_path / "hosts.yml"
    inv.write_text("all: {}\n")
    result = CliRunner().invoke(app, ["bootstrap", "-i", str(inv), "--fast"])
    assert result.exit_code == 2, result.output
    assert "--fast needs Mitogen" in result.output and "Traceback" not in result.output


def test_run_playbook_passes_the_strategy_to_ansible(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    calls = capture_runs(monkeypatch, tmp_path)
    runner.run_playbook("site.yml")
    with fast.fast_strategy():
        runner.run_playbook("site.yml")
    assert "ANSIBLE_STRATEGY" not in calls[0]["envvars"]
    assert calls[1]["envvars"]["ANSIBLE_STRATEGY"] == "mitogen_linear"


PLAYBOOK_COMMANDS = [
    ["bootstrap"],
    ["upgrade", "--k3s-version", "v1.31.5+k3s1"],
    ["reboot"],
    ["reset", "--yes"],
    ["backup"],
    ["restore", "snap-1", "--yes"],
    ["deploy"],
    ["nodes", "add", "pi-9"],
    ["nodes", "remove", "pi-9"],
]


@pytest.mark.parametrize("how", ["--fast", "PI_K8S_FAST=1"])
@pytest.mark.parametrize("command", PLAYBOOK_COMMANDS, ids=lambda c: " ".join(c[:2]))
def test_every_playbook_command_takes_fast_and_its_variable(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, command: list[str], how: str
) -> None:
    """Each command that runs a playbook knows --fast (and PI_K8S_FAST): without Mitogen it
    is refused with exit 2 before any playbook, which proves the option reached the check."""
    monkeypatch.setitem(sys.modules, "ansible_mitogen", None)
    monkeypatch.setenv("PI_K8S_STATE_DIR", str(tmp_path / "state"))

    def never(*_: Any, **__: Any) -> Any:
        raise AssertionError(f"{command[0]} ran a playbook although --fast cannot work")

    monkeypatch.setattr(runner, "run_playbook", never)
    inv = tmp_path / "hosts.yml"
    inv.write_text("all: {}\n")
    with_inventory = command[0] in ("bootstrap", "reset", "deploy")  # the others: --cluster
    args = [*command, "-i", str(inv)] if with_inventory else list(command)
    env = {"PI_K8S_FAST": "1"} if how != "--fast" else {}
    result = CliRunner(env=env).invoke(app, [*args, *(["--fast"] if how == "--fast" else [])])
    assert result.exit_code == 2, result.output
    assert "--fast needs Mitogen" in result.output, result.output


@pytest.mark.parametrize("value", ["0", "false", ""])
def test_pi_k8s_fast_off_leaves_ansibles_strategy(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, value: str
) -> None:
    monkeypatch.setitem(sys.modules, "ansible_mitogen", None)  # would refuse if asked for
    monkeypatch.setenv("PI_K8S_STATE_DIR", str(tmp_path / "state"))
    result = CliRunner(env={"PI_K8S_FAST": value}).invoke(
        app, ["bootstrap", "-i", str(tmp_path / "absent.yml")]
    )
    assert "--fast needs Mitogen" not in result.output, result.output
