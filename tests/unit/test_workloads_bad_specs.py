"""Malformed workload specs and manifests, each driven through the real `pi-k8s deploy`.

One test per directory tests/fixtures/workloads/bad/<case>/: its workloads.yaml (and the
files it names) plus expect.yaml with the exit code and strings that must all appear in
the output. No host may be touched: validation must fail before `run_playbook` is
called, so no run directory may appear under $PI_K8S_STATE_DIR/runs. The inventory names
one server on a closed loopback port, so even a wrongly started run could reach nothing.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from pi_k8s.cli import app

BAD = Path(__file__).resolve().parent.parent / "fixtures" / "workloads" / "bad"
CASES = sorted(p.name for p in BAD.iterdir() if p.is_dir())


def _expect(case: str) -> dict[str, Any]:
    data = yaml.safe_load((BAD / case / "expect.yaml").read_text(encoding="utf-8"))
    assert set(data) == {"exit", "error"}, case
    assert data["error"], case
    return data


def test_at_least_twelve_cases_each_with_an_expectation() -> None:
    assert len(CASES) >= 12
    assert all((BAD / c / "workloads.yaml").is_file() for c in CASES)


@pytest.mark.parametrize("case", CASES)
def test_bad_workloads_are_refused_before_any_host_is_touched(
    case: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    expect = _expect(case)
    state = tmp_path / "state"
    monkeypatch.setenv("PI_K8S_STATE_DIR", str(state))
    inventory = tmp_path / "hosts.yml"
    inventory.write_text(
        yaml.safe_dump(
            {
                "all": {
                    "children": {
                        "server": {
                            "hosts": {"s1": {"ansible_host": "127.0.0.1", "ansible_port": 1}}
                        }
                    }
                }
            }
        )
    )
    result = CliRunner().invoke(
        app, ["deploy", "--spec", str(BAD / case / "workloads.yaml"), "-i", str(inventory)]
    )
    assert result.exit_code == expect["exit"], result.output
    assert "error: " in result.output
    for text in expect["error"]:
        assert text in result.output, f"{text!r} not in:\n{result.output}"
    assert "Traceback" not in result.output
    assert not (state / "runs").exists(), "a playbook run was started"
