"""`pi-k8s reset` asks before it removes anything, on a terminal only.

The playbook run is replaced by a recorder here: what is tested is the question and what
follows the answer (tests/integration/test_reset.py runs the reset for real, and the
bad-input corpus covers the refusals, among them no --yes without a terminal).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from pi_k8s import console
from pi_k8s import operations as ops
from pi_k8s.cli import app
from pi_k8s.runner import RunResult

INVENTORY = (
    "all:\n  children:\n    k3s_cluster:\n      children:\n"
    "        server:\n          hosts:\n            pi-a: {ansible_host: 127.0.0.1}\n"
    "        agent:\n          hosts:\n            pi-b: {ansible_host: 127.0.0.2}\n"
    "      vars: {cluster_name: lab}\n"
)


@pytest.fixture
def calls(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> list[ops.ResetPlan]:
    """Every plan run_reset was called with; a terminal on stdin."""
    seen: list[ops.ResetPlan] = []

    def fake_run(plan: ops.ResetPlan, options: ops.ResetOptions, hooks: Any) -> ops.ResetResult:
        seen.append(plan)
        return ops.ResetResult(plan, RunResult("reset.yml", "successful", 0, tmp_path))

    monkeypatch.setattr(ops, "run_reset", fake_run)
    monkeypatch.setattr(console, "can_ask", lambda: True)
    return seen


def invoke(tmp_path: Path, *args: str, answer: str = "") -> Any:
    inv = tmp_path / "hosts.yml"
    inv.write_text(INVENTORY)
    return CliRunner(env={"COLUMNS": "200"}).invoke(
        app, ["reset", "-i", str(inv), *args], input=answer
    )


def test_no_leaves_every_host_alone(calls: list[ops.ResetPlan], tmp_path: Path) -> None:
    result = invoke(tmp_path, answer="n\n")
    assert result.exit_code == 0, result.output
    assert "k3s will be removed and pi-k8s's changes put back on pi-a, pi-b" in result.output
    assert "Reset 2 host(s)?" in result.output
    assert "Nothing was reset." in result.output
    assert calls == []


def test_end_of_input_is_a_no(calls: list[ops.ResetPlan], tmp_path: Path) -> None:
    result = invoke(tmp_path)
    assert result.exit_code == 0, result.output
    assert calls == []


def test_yes_resets_the_hosts_listed(calls: list[ops.ResetPlan], tmp_path: Path) -> None:
    result = invoke(tmp_path, "--limit", "pi-b", answer="y\n")
    assert result.exit_code == 0, result.output
    assert "on pi-b." in result.output and "Reset 1 host(s)?" in result.output
    assert [(p.cluster, p.hosts) for p in calls] == [("lab", ["pi-b"])]


def test_forget_names_the_state_it_removes(calls: list[ops.ResetPlan], tmp_path: Path) -> None:
    result = invoke(tmp_path, "--forget", answer="y\n")
    assert result.exit_code == 0, result.output
    assert f"then {calls[0].state} is removed" in " ".join(result.output.split())
    assert calls[0].state.parts[-2:] == ("clusters", "lab")


def test_check_and_yes_do_not_ask(calls: list[ops.ResetPlan], tmp_path: Path) -> None:
    for flag in ("--check", "--yes"):
        result = invoke(tmp_path, flag)
        assert result.exit_code == 0, result.output
        assert "Reset 2 host(s)?" not in result.output
    assert len(calls) == 2
