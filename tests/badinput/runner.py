"""Run the real `pi-k8s` command piped and under a pseudo-terminal (test helper).

Piped, the console prints plain text; on a terminal rich draws it, reading ``[...]`` as
markup unless every value is escaped. A bad-input case runs both ways, because each way
has its own code path for errors and hints.
"""

from __future__ import annotations

import os
import pty
import re
import select
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

MODES = ("piped", "pty")


def pi_k8s_command() -> list[str]:
    """The installed entry point next to this interpreter, else the same code via -c."""
    script = Path(sys.executable).parent / "pi-k8s"
    if script.is_file():
        return [str(script)]
    return [sys.executable, "-c", "from pi_k8s.cli import main; main()"]


def cli_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """This process's environment, wide (COLUMNS=200), colour allowed, plus ``extra``."""
    env = dict(os.environ)
    env.update({"COLUMNS": "200", "TERM": "xterm-256color"})
    for var in ("NO_COLOR", "FORCE_COLOR", "TTY_COMPATIBLE", "TTY_INTERACTIVE"):
        env.pop(var, None)
    env.update(extra or {})
    return env


@dataclass
class Run:
    """One run of the CLI: its exit code and what it printed (stdout and stderr)."""

    mode: str
    rc: int
    output: str

    @property
    def text(self) -> str:
        """The output without colour codes and carriage returns."""
        return plain(self.output)


def plain(text: str) -> str:
    """Terminal output without colour codes and carriage returns."""
    return re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", text).replace("\r", "")


def _piped(command: list[str], env: dict[str, str], cwd: Path | None, timeout: float) -> Run:
    """stdout and stderr on pipes; the output is stdout then stderr."""
    proc = subprocess.run(
        command,
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        timeout=timeout,
    )
    return Run("piped", proc.returncode, proc.stdout + proc.stderr)


def _pty(command: list[str], env: dict[str, str], cwd: Path | None, timeout: float) -> Run:
    """stdin, stdout and stderr on one pseudo-terminal, read until the child closes it."""
    primary, secondary = pty.openpty()
    proc = subprocess.Popen(
        command, stdin=secondary, stdout=secondary, stderr=secondary, env=env, cwd=cwd
    )
    os.close(secondary)
    chunks: list[bytes] = []
    try:
        while True:
            ready, _, _ = select.select([primary], [], [], timeout)
            if not ready:
                proc.kill()
                raise AssertionError(f"{command} produced nothing for {timeout}s")
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
    return Run("pty", rc, b"".join(chunks).decode(errors="replace"))


def run(
    mode: str,
    args: list[str],
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    timeout: float = 300,
) -> Run:
    """Run ``pi-k8s ARGS`` piped or under a pseudo-terminal (``mode``, one of MODES),
    in ``cwd``, with ``cli_env(env)``."""
    runner = {"piped": _piped, "pty": _pty}[mode]
    return runner(pi_k8s_command() + args, cli_env(env), cwd, timeout)


def assert_refused(result: Run, code: int, expect: list[str], hint: str | None = None) -> None:
    """The run failed with ``code``, printed each ``expect`` text and the hint, no trace.

    Texts are compared with runs of whitespace folded, so a line wrapped by the
    terminal still matches. ``hint``: a text the hint line must contain; usage errors
    from the option parser (click) give their "Try 'pi-k8s … -h' for help." line instead
    of a "hint:" line, and are checked for it.
    """
    text = result.text
    flat = " ".join(text.split())
    where = f"{result.mode} run, exit {result.rc}:\n{text}"
    assert "Traceback" not in text, where
    assert "Unexpected error" not in text, where
    assert result.rc == code, where
    for want in expect:
        assert " ".join(want.split()) in flat, (want, where)
    if hint is not None and hint.startswith("Try '"):
        assert hint in flat, (hint, where)  # the option parser's own hint
    else:
        assert "hint: " in flat, ("no hint line", where)
        assert " ".join((hint or "").split()) in flat.split("hint: ", 1)[1], (hint, where)
    if result.mode == "pty":
        assert "\x1b[" in result.output, ("no colour: the TTY path did not run", where)
