"""pi-k8s makes private only the directories it creates, and its own state dir.

Each case builds its directories under tmp_path and sets their modes itself: nothing
outside the test's scratch dir is touched.
"""

from __future__ import annotations

import stat
from pathlib import Path

import asyncssh
import pytest
from typer.testing import CliRunner

from pi_k8s import discovery, paths
from pi_k8s.cli import app

SHARED = 0o1777  # what /tmp has: world-writable with the sticky bit


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def shared(tmp_path: Path) -> Path:
    d = tmp_path / "shared"
    d.mkdir()
    d.chmod(SHARED)
    assert _mode(d) == SHARED  # else the checks below prove nothing
    return d


def test_known_hosts_in_a_shared_dir_leaves_the_dir_mode_alone(shared: Path) -> None:
    """`discover --known-hosts` with a file in a shared dir must not make that dir 0700."""
    known = discovery.KnownHosts(shared / "kh")
    key = asyncssh.generate_private_key("ssh-ed25519")
    known.record("10.213.0.10", key)
    known.save()
    assert _mode(shared) == SHARED
    assert (shared / "kh").read_text().startswith("10.213.0.10 ssh-ed25519 ")
    assert _mode(shared / "kh") == 0o600  # the file pi-k8s created is private


def test_known_hosts_keeps_an_existing_files_mode(tmp_path: Path) -> None:
    kh = tmp_path / "kh"
    kh.write_text("")
    kh.chmod(0o644)
    known = discovery.KnownHosts(kh)
    known.record("10.213.0.11", asyncssh.generate_private_key("ssh-ed25519"))
    known.save()
    assert _mode(kh) == 0o644
    assert "10.213.0.11 ssh-ed25519" in kh.read_text()


def test_missing_dirs_are_created_private_existing_ones_kept(
    tmp_path: Path, shared: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PI_K8S_STATE_DIR", str(tmp_path / "state"))
    made = paths.ensure_private_dir(shared / "a" / "b")
    assert made.is_dir()
    assert _mode(shared / "a") == 0o700
    assert _mode(shared / "a" / "b") == 0o700
    assert _mode(shared) == SHARED
    public = tmp_path / "public"
    public.mkdir()
    public.chmod(0o755)
    paths.ensure_private_dir(public)
    assert _mode(public) == 0o755


def test_the_state_dir_is_tightened_but_never_a_shared_one(
    tmp_path: Path, shared: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    state = tmp_path / "state"
    (state / "runs").mkdir(parents=True)
    state.chmod(0o755)
    (state / "runs").chmod(0o755)
    monkeypatch.setenv("PI_K8S_STATE_DIR", str(state))
    paths.ensure_private_dir(state / "runs")
    paths.ensure_private_dir(state)
    assert _mode(state / "runs") == 0o700
    assert _mode(state) == 0o700
    monkeypatch.setenv("PI_K8S_STATE_DIR", str(shared))  # a shared dir as the state dir
    paths.ensure_private_dir(shared)
    assert _mode(shared) == SHARED


def _boom() -> None:
    raise RuntimeError("boom")


@pytest.mark.parametrize("state_is_shared", [False, True], ids=["below-shared", "shared"])
def test_unexpected_error_log_leaves_a_shared_parent_alone(
    shared: Path, monkeypatch: pytest.MonkeyPatch, state_is_shared: bool
) -> None:
    """The unexpected-error handler writes error.log without chmod-ing a shared dir."""
    state = shared if state_is_shared else shared / "state"
    monkeypatch.setenv("PI_K8S_STATE_DIR", str(state))
    monkeypatch.setattr("pi_k8s.operations.run_verify", lambda *a, **k: _boom())
    result = CliRunner().invoke(app, ["verify", "-i", str(shared / "hosts.yml")])
    assert result.exit_code == 1, result.output
    assert "Unexpected error: RuntimeError: boom" in result.output
    assert "RuntimeError: boom" in (state / "error.log").read_text()
    assert _mode(shared) == SHARED
    if not state_is_shared:
        assert _mode(state) == 0o700


def test_unexpected_error_with_a_file_as_state_dir_puts_the_trace_on_stderr(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """PI_K8S_STATE_DIR names a file: error.log cannot be written, so the trace goes to
    stderr with a message saying so, and the handler itself does not crash."""
    not_a_dir = tmp_path / "state-file"
    not_a_dir.write_text("I am a file\n")
    monkeypatch.setenv("PI_K8S_STATE_DIR", str(not_a_dir))
    monkeypatch.setattr("pi_k8s.operations.run_verify", lambda *a, **k: _boom())
    result = CliRunner().invoke(app, ["verify", "-i", str(tmp_path / "hosts.yml")])
    assert isinstance(result.exception, SystemExit), result.exception  # no crash in the handler
    assert result.exit_code == 1, result.output
    assert "error: Unexpected error: RuntimeError: boom" in result.stderr
    assert f"hint: Could not write the trace to {not_a_dir / 'error.log'}" in result.stderr
    assert "it follows on stderr" in result.stderr
    assert "Traceback (most recent call last):" in result.stderr
    assert 'raise RuntimeError("boom")' in result.stderr
    assert not_a_dir.read_text() == "I am a file\n"
