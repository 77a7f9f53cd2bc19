"""Malformed specs and inputs, each driven through the real `pi-k8s inventory`.

One test per tests/fixtures/inventory/bad/<case>.yaml. Its sibling <case>.expect
(YAML) says:
    exit:      the exit code (3 bad input, 2 usage)
    error:     strings that must all appear in the output
    discovery: the discovery file in bad/ to read (default: discovery.json)
    args:      extra command-line arguments (optional)
Every case must leave no file behind: not the inventory, not its directory, not a
temp file.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from pi_k8s.cli import app

BAD = Path(__file__).resolve().parent.parent / "fixtures" / "inventory" / "bad"
CASES = sorted(p.stem for p in BAD.glob("*.yaml"))


def _expect(case: str) -> dict[str, Any]:
    data = yaml.safe_load((BAD / f"{case}.expect").read_text(encoding="utf-8"))
    assert set(data) <= {"exit", "error", "discovery", "args"}, case
    assert data["error"], case
    return data


def test_at_least_fifteen_cases_each_with_an_expectation() -> None:
    assert len(CASES) >= 15
    assert sorted(p.stem for p in BAD.glob("*.expect")) == CASES


@pytest.mark.parametrize("case", CASES)
def test_bad_input_is_refused_and_nothing_is_written(case: str, tmp_path: Path) -> None:
    expect = _expect(case)
    out = tmp_path / "inventory" / "hosts.yml"
    args = [
        "inventory",
        "--spec",
        str(BAD / f"{case}.yaml"),
        "--from",
        str(BAD / expect.get("discovery", "discovery.json")),
        "-o",
        str(out),
        *expect.get("args", []),
    ]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == expect["exit"], result.output
    assert "error: " in result.output
    for text in expect["error"]:
        assert text in result.output, f"{text!r} not in:\n{result.output}"
    assert "Traceback" not in result.output
    assert list(tmp_path.iterdir()) == []


def test_a_failed_render_leaves_an_existing_inventory_untouched(tmp_path: Path) -> None:
    out = tmp_path / "hosts.yml"
    out.write_text("previous inventory\n")
    result = CliRunner().invoke(
        app,
        [
            "inventory",
            "--spec",
            str(BAD / "servers_even.yaml"),
            "--from",
            str(BAD / "discovery.json"),
            "-o",
            str(out),
        ],
    )
    assert result.exit_code == 3, result.output
    assert out.read_text() == "previous inventory\n"
    assert [p.name for p in tmp_path.iterdir()] == ["hosts.yml"]


def test_missing_spec_file_is_a_spec_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app,
        [
            "inventory",
            "--spec",
            str(tmp_path / "cluster.yaml"),
            "--from",
            str(BAD / "discovery.json"),
            "-o",
            str(tmp_path / "out" / "hosts.yml"),
        ],
    )
    assert result.exit_code == 3, result.output
    assert f"{tmp_path / 'cluster.yaml'}: no such file." in result.output
    assert "hint: Copy inventory/cluster.example.yaml" in result.output
    assert list(tmp_path.iterdir()) == []


def test_hosts_must_come_from_somewhere(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app, ["inventory", "--spec", str(BAD / "servers_even.yaml"), "-o", str(tmp_path / "x")]
    )
    assert result.exit_code == 2, result.output
    assert "--from discovery.json or --discover" in result.output
