"""The one place that draws on the terminal: tables, progress lines, errors.

On a TTY output is rich; when piped it is plain text, one line per event.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Sequence
from typing import Any

from rich.console import Console
from rich.table import Table

out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)


def is_tty() -> bool:
    return out.is_terminal


def info(message: str) -> None:
    err.print(message, markup=False)


def step(message: str) -> None:
    """A progress line for long work (stderr, so --json output stays clean)."""
    err.print(
        f"[dim]•[/dim] {message}" if err.is_terminal else f"* {message}", markup=err.is_terminal
    )


def warn(message: str) -> None:
    err.print(
        f"[yellow]warning:[/yellow] {message}" if err.is_terminal else f"warning: {message}",
        markup=err.is_terminal,
    )


def error(message: str, hint: str | None = None) -> None:
    if err.is_terminal:
        err.print(f"[bold red]error:[/bold red] {message}", markup=True, highlight=False)
        if hint:
            err.print(f"[cyan]hint:[/cyan] {hint}")
    else:
        err.print(f"error: {message}", markup=False)
        if hint:
            err.print(f"hint: {hint}", markup=False)


def print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, sort_keys=False, default=str) + "\n")


def table(
    title: str | None,
    columns: Sequence[str],
    rows: Iterable[Sequence[object]],
) -> None:
    """A table on a TTY, tab-separated lines with a header when piped."""
    rows = list(rows)
    if not out.is_terminal:
        if title:
            out.print(f"# {title}", markup=False)
        out.print("\t".join(columns), markup=False)
        for row in rows:
            out.print("\t".join("" if v is None else str(v) for v in row), markup=False)
        return
    t = Table(title=title, title_justify="left")
    for col in columns:
        t.add_column(col)
    for row in rows:
        t.add_row(*("" if v is None else str(v) for v in row))
    out.print(t)


def testbed_table(bed: Any) -> None:
    title = f"testbed {bed.name} on {bed.subnet or '(down)'}"
    table(
        title,
        ["host", "kind", "ip", "mac", "model", "memory", "state"],
        (
            (
                h.name,
                h.kind,
                h.ip,
                h.mac,
                h.model or "-",
                f"{h.memory_mb} MB" if h.memory_mb else "-",
                h.state,
            )
            for h in bed.hosts
        ),
    )
    if bed.hosts:
        info(f"ssh: ssh -F {bed.ssh_config} {bed.hosts[0].name}")
