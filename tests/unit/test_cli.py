"""The CLI's surface: help, version, usage errors (exit 2, no traceback)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner

from pi_k8s import __version__
from pi_k8s.cli import app

# Wide enough that rich does not wrap error boxes mid-message.
runner = CliRunner(env={"COLUMNS": "200"})


def test_help_lists_the_command_groups() -> None:
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0, result.output
    for group in ("discover", "inventory", "bootstrap", "deploy", "verify", "testbed"):
        assert group in result.output


def test_short_help_option() -> None:
    result = runner.invoke(app, ["-h"])
    assert result.exit_code == 0, result.output
    assert "Usage: pi-k8s" in result.output


def test_version() -> None:
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == f"pi-k8s {__version__}"


def test_unknown_option_is_a_usage_error() -> None:
    result = runner.invoke(app, ["testbed", "up", "--bogus"])
    assert result.exit_code == 2, result.output
    assert "No such option: --bogus" in result.output
    assert "Traceback" not in result.output


def test_bad_option_value_is_a_usage_error() -> None:
    result = runner.invoke(app, ["testbed", "up", "--nodes", "many"])
    assert result.exit_code == 2, result.output
    assert "Invalid value for '--nodes'" in result.output


def test_bad_subnet_is_refused_before_anything_is_created() -> None:
    result = runner.invoke(app, ["testbed", "up", "--subnet", "10.0.0.0/33", "--name", "clitest"])
    assert result.exit_code == 2, result.output
    assert "Invalid subnet '10.0.0.0/33'" in result.output
    assert "hint: Use CIDR form" in result.output
    podman = subprocess.run(
        ["podman", "network", "ls", "--format", "{{.Name}}"], capture_output=True, text=True
    )
    assert podman.returncode == 0, podman.stderr  # else the check below proves nothing
    assert "pi-k8s-clitest" not in podman.stdout.split()


def test_public_subnet_is_refused() -> None:
    result = runner.invoke(app, ["testbed", "up", "--subnet", "8.8.8.0/24"])
    assert result.exit_code == 2, result.output
    assert "not a private IPv4 range" in result.output


def test_installed_entry_point_reports_usage_errors_with_exit_2() -> None:
    entry = Path(sys.executable).parent / "pi-k8s"
    proc = subprocess.run([str(entry), "nosuchcommand"], capture_output=True, text=True)
    assert proc.returncode == 2
    assert "No such command 'nosuchcommand'" in proc.stderr
    assert "Traceback" not in proc.stderr
