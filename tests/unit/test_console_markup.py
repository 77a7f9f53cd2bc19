"""User and host data is text on the terminal, never rich markup.

On a TTY the console draws with rich, which reads ``[...]`` as a style tag: ``[/x]`` is a
closing tag with no opening one (a MarkupError traceback) and ``[pi-a, pi-b]`` is an
unknown style that silently disappears. Each table and progress view is drawn here on a
console forced to be a terminal; the real ``pi-k8s`` command with such values, under a
pseudo-terminal and piped, is in the bad-input corpus (tests/badinput/test_host_free.py).
"""

from __future__ import annotations

import io
from types import SimpleNamespace

import pytest
from rich.console import Console

from pi_k8s import console

BRACKETED = "[pi-a, pi-b]"
CLOSING = "[/x]"


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
