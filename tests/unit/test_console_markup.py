"""User and host data is text on the terminal, never rich markup.

On a TTY the console draws with rich, which reads ``[...]`` as a style tag: ``[/x]`` is a
closing tag with no opening one (a MarkupError traceback) and ``[pi-a, pi-b]`` is an
unknown style that silently disappears. The CLI cases run the real ``pi-k8s`` command
under a pseudo-terminal (so rich sees a TTY) and piped; the console cases draw each
table and progress view on a console forced to be a terminal.
"""

from __future__ import annotations

import io
import os
import pty
import re
import select
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
from rich.console import Console

from pi_k8s import console

BRACKETED = "[pi-a, pi-b]"
CLOSING = "[/x]"


def _pi_k8s_command() -> list[str]:
    """The installed entry point next to this interpreter, else the same code via -c."""
    script = Path(sys.executable).parent / "pi-k8s"
    if script.is_file():
        return [str(script)]
    return [sys.executable, "-c", "from pi_k8s.cli import main; main()"]


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env.update({"COLUMNS": "200", "TERM": "xterm-256color"})
    for var in ("NO_COLOR", "FORCE_COLOR", "TTY_COMPATIBLE", "TTY_INTERACTIVE"):
        env.pop(var, None)
    return env


def run_in_pty(args: list[str], timeout: float = 60) -> tuple[int, str]:
    """Run pi-k8s with stdin, stdout and stderr on a pseudo-terminal; (exit code, output)."""
    primary, secondary = pty.openpty()
    proc = subprocess.Popen(
        _pi_k8s_command() + args,
        stdin=secondary,
        stdout=secondary,
        stderr=secondary,
        env=_env(),
        close_fds=True,
    )
    os.close(secondary)
    chunks: list[bytes] = []
    try:
        while True:
            ready, _, _ = select.select([primary], [], [], timeout)
            if not ready:
                proc.kill()
                raise AssertionError(f"pi-k8s {args} produced nothing for {timeout}s")
            try:
                data = os.read(primary, 4096)
            except OSError:  # EIO: the child closed the terminal
                break
            if not data:
                break
            chunks.append(data)
    finally:
        os.close(primary)
    rc = proc.wait(timeout)
    return rc, b"".join(chunks).decode(errors="replace")


def _plain(text: str) -> str:
    """Terminal output without colour codes and carriage returns."""
    return re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", text).replace("\r", "")


@pytest.mark.parametrize("subnet", [CLOSING, BRACKETED])
def test_discover_bad_subnet_on_a_terminal_prints_the_value(subnet: str) -> None:
    rc, output = run_in_pty(["discover", "--subnet", subnet])
    text = _plain(output)
    assert "Traceback" not in text and "MarkupError" not in text, text
    assert rc == 2, text
    assert f"error: Invalid subnet '{subnet}'" in text, text
    assert "\x1b[" in output, output  # rich drew colours: the TTY path ran


@pytest.mark.parametrize("subnet", [CLOSING, BRACKETED])
def test_discover_bad_subnet_piped_prints_the_value(subnet: str) -> None:
    proc = subprocess.run(
        [*_pi_k8s_command(), "discover", "--subnet", subnet],
        capture_output=True,
        text=True,
        env=_env(),
        timeout=60,
    )
    assert proc.returncode == 2, proc.stderr
    assert f"error: Invalid subnet '{subnet}'" in proc.stderr
    assert "Traceback" not in proc.stderr


@pytest.fixture
def tty(monkeypatch: pytest.MonkeyPatch) -> io.StringIO:
    """console.out and console.err drawing to one buffer as a terminal would."""
    buf = io.StringIO()
    term = Console(
        file=buf, force_terminal=True, width=200, highlight=False, soft_wrap=True, color_system=None
    )
    monkeypatch.setattr(console, "out", term)
    monkeypatch.setattr(console, "err", term)
    return buf


def test_error_hint_step_warn_keep_brackets(tty: io.StringIO) -> None:
    console.error(f"host {CLOSING} failed", f"retry {BRACKETED}")
    console.step(f"probing {BRACKETED}")
    console.warn(f"servers {BRACKETED} {CLOSING}")
    text = tty.getvalue()
    assert f"error: host {CLOSING} failed" in text
    assert f"hint: retry {BRACKETED}" in text
    assert f"probing {BRACKETED}" in text
    assert f"warning: servers {BRACKETED} {CLOSING}" in text


def test_table_keeps_brackets_in_title_and_cells(tty: io.StringIO) -> None:
    console.table(f"cluster {BRACKETED}", ["host", "reason"], [("pi-a", f"forced by {CLOSING}")])
    text = tty.getvalue()
    assert f"cluster {BRACKETED}" in text
    assert f"forced by {CLOSING}" in text


def test_hosts_table_keeps_brackets_from_host_data(tty: io.StringIO) -> None:
    host = SimpleNamespace(
        ip="10.213.0.10",
        hostname="pi-a",
        is_pi=False,
        ssh_error=f"ssh error: {BRACKETED} {CLOSING}",
        oui_match=True,
        mac="dc:a6:32:01:02:03",
    )
    console.hosts_table([host])
    assert f"ssh error: {BRACKETED} {CLOSING}" in tty.getvalue()


def test_verify_report_keeps_brackets(tty: io.StringIO) -> None:
    from pi_k8s.verify import CheckResult, VerifyReport

    report = VerifyReport(
        [CheckResult("pi-[a]", f"check {CLOSING}", "fail", f"detail {BRACKETED}", "fix it")]
    )
    console.verify_report(report)
    text = tty.getvalue()
    assert "pi-[a]" in text
    assert f"check {CLOSING}" in text
    assert f"detail {BRACKETED}" in text


def test_playbook_progress_keeps_brackets(tty: io.StringIO) -> None:
    progress = console.PlaybookProgress(f"bootstrap {BRACKETED}")
    progress.play = f"play {CLOSING}"
    progress.task = f"task {BRACKETED}"
    progress.hosts = {"pi-a": ("failed", f"task {CLOSING}")}
    console.err.print(progress._render())
    text = tty.getvalue()
    for want in (f"bootstrap {BRACKETED}", f"play {CLOSING}", f"task {BRACKETED}"):
        assert want in text
    assert f"failed task {CLOSING}" in text
