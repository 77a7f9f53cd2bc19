"""-K / --ask-become-pass (issue 17 §5): which commands ask, where the password goes.

tests/integration/test_ssh_config.py proves it end to end for bootstrap on a host whose
sudo wants a password. Here, for every command that runs a playbook with become: -K asks
once (getpass, replaced here: no terminal in a unit test), when the first playbook
starts, and the command's operation runs inside ``runner.become_password``; without -K
nothing is asked. And run_playbook turns that password into ansible-runner's
``passwords`` and ``--ask-become-pass``, never into extravars or the command line
(ansible_runner.run_async replaced: it would start ansible-playbook).
"""

from __future__ import annotations

import getpass
import re
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from pi_k8s import operations as ops
from pi_k8s import runner
from pi_k8s.cli import app
from pi_k8s.errors import PlaybookFailed, SpecError
from tests.unit.runner_double import capture_runs

PASSWORD = "unit-become-pw"

# command line → the operation it runs (the attribute of pi_k8s.operations)
COMMANDS = {
    "bootstrap": (["bootstrap", "-i", "{inv}"], "run_bootstrap"),
    "upgrade": (["upgrade", "--k3s-version", "v1.31.5+k3s1"], "upgrade_cluster"),
    "reboot": (["reboot"], "reboot_cluster"),
    "reset": (["reset", "-i", "{inv}", "--yes"], "run_reset"),
    "backup": (["backup"], "run_backup"),
    "restore": (["restore", "snap", "--yes"], "run_restore"),
    "nodes add": (["nodes", "add", "pi-x"], "add_nodes"),
    "nodes remove": (["nodes", "remove", "pi-x"], "remove_nodes"),
}


class Stop(SpecError):
    """What the replaced operation raises once it has seen the password."""


@pytest.fixture
def seen(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> dict[str, Any]:
    record: dict[str, Any] = {"asked": 0, "password": "unset"}

    def ask(prompt: str = "") -> str:
        record["asked"] += 1
        record["prompt"] = prompt
        return PASSWORD

    def operation(*_: Any, **__: Any) -> Any:
        record["password"] = runner.current_become_password()
        raise Stop("stopped here", hint="test")

    monkeypatch.setattr(getpass, "getpass", ask)
    for _, name in COMMANDS.values():
        monkeypatch.setattr(ops, name, operation, raising=False)
    # what reset and restore look at before they run
    monkeypatch.setattr(ops, "plan_reset", lambda *a, **k: type("P", (), {"hosts": []})())
    monkeypatch.setattr(ops, "plan_restore", lambda *a, **k: object())
    inv = tmp_path / "hosts.yml"
    inv.write_text("all: {}\n")
    record["inv"] = str(inv)
    return record


def invoke(args: list[str], inv: str) -> Any:
    return CliRunner().invoke(app, [a.replace("{inv}", inv) for a in args])


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_K_asks_once_and_the_operation_runs_with_the_password(command: str, seen) -> None:
    args, _ = COMMANDS[command]
    result = invoke([*args, "-K"], seen["inv"])
    assert result.exit_code == Stop.exit_code, result.output
    assert "stopped here" in result.output
    assert (seen["asked"], seen["prompt"]) == (1, "BECOME password: ")
    assert seen["password"] == PASSWORD
    assert runner.current_become_password() is None  # only for the command's run
    assert PASSWORD not in result.output


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_without_K_nothing_is_asked(command: str, seen) -> None:
    args, _ = COMMANDS[command]
    result = invoke(args, seen["inv"])
    assert result.exit_code == Stop.exit_code, result.output
    assert seen["asked"] == 0 and seen["password"] is None


def test_an_empty_password_is_a_usage_error(seen, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(getpass, "getpass", lambda prompt="": "")
    result = invoke(["bootstrap", "-i", "{inv}", "-K"], seen["inv"])
    assert result.exit_code == 2, result.output
    assert "no sudo password was typed" in result.output
    assert seen["password"] == "unset"  # the operation never ran


def test_input_refused_before_any_playbook_asks_nothing(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The password is asked when the first playbook starts: an inventory bootstrap refuses
    (here a pool with servicelb) never gets that far, so the user types nothing for it."""
    asked: list[str] = []
    monkeypatch.setattr(getpass, "getpass", lambda prompt="": asked.append(prompt) or PASSWORD)
    monkeypatch.setenv("PI_K8S_STATE_DIR", str(tmp_path / "state"))
    inv = tmp_path / "hosts.yml"
    inv.write_text(
        "all: {children: {k3s_cluster: {children: {server: {hosts: {s1: {ansible_host: "
        "127.0.0.1}}}}, vars: {cluster_lb_pool: 10.0.0.240/29}}}}\n"
    )
    result = invoke(["bootstrap", "-i", str(inv), "-K"], str(inv))
    assert result.exit_code == 3, result.output
    assert "cluster_lb_pool 10.0.0.240/29 is set but cluster_lb is servicelb" in result.output
    assert asked == []


def _run_with(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> dict[str, Any]:
    """run_playbook's kwargs to ansible_runner.run_async (which is not run)."""
    calls = capture_runs(monkeypatch, tmp_path)
    runner.run_playbook("site.yml")
    return calls[0]


def test_run_playbook_answers_the_become_prompt_and_passes_the_password_nowhere_else(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    with ops.become_password(PASSWORD):
        kwargs = _run_with(monkeypatch, tmp_path)
    assert kwargs["passwords"] == {runner.BECOME_PROMPT: PASSWORD}
    assert kwargs["cmdline"] == "--ask-become-pass"
    assert PASSWORD not in repr({k: v for k, v in kwargs.items() if k != "passwords"})
    assert re.match(runner.BECOME_PROMPT, "BECOME password: ")


def test_run_playbook_without_a_password_expects_no_prompt(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    kwargs = _run_with(monkeypatch, tmp_path)
    assert "passwords" not in kwargs and "cmdline" not in kwargs


def _failed(message: str) -> runner.RunResult:
    return runner.RunResult(
        "site.yml",
        "failed",
        2,
        Path("/runs/x"),
        failures=[runner.TaskFailure("pi-b", "Ensure SSH and privilege escalation work", message)],
    )


def test_a_missing_sudo_password_names_the_host_and_hints_K() -> None:
    with pytest.raises(PlaybookFailed) as err:
        _failed("Task failed: Missing sudo password").raise_for_status()
    assert err.value.message == (
        "site.yml failed: sudo on pi-b asks for a password and none was given."
    )
    assert err.value.hint.startswith("Pass -K (--ask-become-pass) to be asked for the sudo")
    assert err.value.exit_code == 4


def test_a_wrong_sudo_password_says_so() -> None:
    with pytest.raises(PlaybookFailed) as err:
        _failed("Task failed: Incorrect sudo password").raise_for_status()
    assert err.value.message == "site.yml failed: sudo on pi-b refused the password."
    assert "-K (--ask-become-pass)" in err.value.hint and "type it again" in err.value.hint
