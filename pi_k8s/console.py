"""The one place that draws on the terminal: tables, progress lines, errors.

On a TTY output is rich; when piped it is plain text, one line per event. On a TTY every
value drawn (messages, hints, table cells, task and host names) is escaped with
``rich.markup.escape``: user and host data such as ``[pi-a, pi-b]`` or ``[/x]`` is text,
never markup.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Iterable, Sequence
from typing import Any, ClassVar

from rich.console import Console
from rich.markup import escape
from rich.table import Table

out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)


def info(message: str) -> None:
    err.print(message, markup=False)


def step(message: str) -> None:
    """A progress line for long work (stderr, so --json output stays clean)."""
    err.print(
        f"[dim]•[/dim] {escape(message)}" if err.is_terminal else f"* {message}",
        markup=err.is_terminal,
    )


def warn(message: str) -> None:
    err.print(
        f"[yellow]warning:[/yellow] {escape(message)}"
        if err.is_terminal
        else f"warning: {message}",
        markup=err.is_terminal,
    )


def error(message: str, hint: str | None = None) -> None:
    if err.is_terminal:
        err.print(f"[bold red]error:[/bold red] {escape(message)}", markup=True, highlight=False)
        if hint:
            err.print(f"[cyan]hint:[/cyan] {escape(hint)}", markup=True, highlight=False)
    else:
        err.print(f"error: {message}", markup=False)
        if hint:
            err.print(f"hint: {hint}", markup=False)


def can_ask() -> bool:
    """Whether a question can be asked: stdin is a terminal."""
    return sys.stdin.isatty()


def confirm(question: str) -> bool:
    """Ask a yes/no question on the terminal (default no); end of input is a no."""
    from rich.prompt import Confirm

    try:
        return Confirm.ask(escape(question), console=err, default=False)
    except EOFError:
        return False


def trace(text: str) -> None:
    """A Python traceback, verbatim on stderr (when it cannot go to the log file)."""
    err.print(text.rstrip("\n"), markup=False, highlight=False)


def print_json(data: Any, *, schema: str) -> None:
    """A command's --json output, alone on stdout; ``schema`` names its JSON Schema
    (pi_k8s/schemas), checked first when PI_K8S_CHECK_JSON=1 (the tests set it)."""
    text = json.dumps(data, indent=2, sort_keys=False, default=str)
    if os.environ.get("PI_K8S_CHECK_JSON") == "1":
        from pi_k8s import schemas

        wrong = schemas.problems(schema, json.loads(text))
        if wrong:
            raise ValueError(f"--json output does not match schemas/{schema}: " + "; ".join(wrong))
    sys.stdout.write(text + "\n")


def table(
    title: str | None,
    columns: Sequence[str],
    rows: Iterable[Sequence[object]],
) -> None:
    """A table on a TTY, tab-separated lines with a header when piped."""
    rows = list(rows)
    if not out.is_terminal:
        # Written directly: rich would expand the tabs into spaces.
        if title:
            sys.stdout.write(f"# {title}\n")
        sys.stdout.write("\t".join(columns) + "\n")
        for row in rows:
            sys.stdout.write("\t".join("" if v is None else str(v) for v in row) + "\n")
        return
    out.print(_rich_table(title, columns, rows))


def _rich_table(
    title: str | None, columns: Sequence[str], rows: Iterable[Sequence[object]]
) -> Table:
    t = Table(title=escape(title) if title else None, title_justify="left")
    for col in columns:
        t.add_column(escape(col))
    for row in rows:
        t.add_row(*("" if v is None else escape(str(v)) for v in row))
    return t


def status_report(report: Any) -> None:
    """`pi-k8s status`: header, nodes, API, runs, notes (tables; tab-separated when piped)."""
    from pi_k8s.render.status import status_view

    if out.is_terminal:
        out.print(_status_renderable(report))
        return
    for item in status_view(report):
        if isinstance(item, str):
            sys.stdout.write(item + "\n")
        else:
            table(item.title, item.columns, item.rows)


def _status_renderable(report: Any) -> Any:
    from rich.console import Group
    from rich.text import Text

    from pi_k8s.render.status import status_view

    return Group(
        *(
            Text(item)
            if isinstance(item, str)
            else _rich_table(item.title, item.columns, item.rows)
            for item in status_view(report)
        )
    )


def watch_status(fetch: Callable[[], Any], interval: float) -> None:
    """Redraw ``fetch()``'s report in place every ``interval`` seconds until Ctrl-C (a
    terminal only); Ctrl-C ends it quietly.

    Ctrl-C only sets a flag: a read in progress (its threads, ssh and the API ping, each
    with its own timeout) finishes, and the loop ends after it or wakes from its wait. A
    KeyboardInterrupt raised inside the read's thread pool could leave the process
    waiting on its threads at exit (seen once under a pseudo-terminal in CI)."""
    import signal
    import threading

    from rich.live import Live

    stop = threading.Event()
    previous = signal.signal(signal.SIGINT, lambda *_: stop.set())
    try:
        with Live(console=out, auto_refresh=False, screen=False) as live:
            while not stop.is_set():
                report = fetch()
                if stop.is_set():
                    break
                live.update(_status_renderable(report), refresh=True)
                stop.wait(interval)
    finally:
        signal.signal(signal.SIGINT, previous)


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


class PlaybookProgress:
    """Draws ansible-runner events: a live view on a TTY, one line per task when piped.

    Use as ``runner.run_playbook(..., on_event=progress)`` inside ``with progress:``.
    """

    _STYLE: ClassVar[dict[str, str]] = {
        "ok": "green",
        "changed": "yellow",
        "failed": "bold red",
        "unreachable": "bold red",
        "skipped": "dim",
    }

    def __init__(self, title: str, *, verbose: bool = False) -> None:
        self.title = title
        self.verbose = verbose
        self.play = ""
        self.task = ""
        self.tasks_done = 0
        self.hosts: dict[str, tuple[str, str]] = {}
        self._live: Any = None

    def __enter__(self) -> PlaybookProgress:
        if err.is_terminal and not self.verbose:
            from rich.live import Live

            self._live = Live(self._render(), console=err, refresh_per_second=8, transient=True)
            self._live.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._live is not None:
            self._live.__exit__(None, None, None)
            self._live = None

    def _render(self) -> Any:
        t = Table.grid(padding=(0, 1))
        t.add_row(f"[bold]{escape(self.title)}[/bold]", f"[dim]{self.tasks_done} tasks[/dim]")
        t.add_row("play", escape(self.play or "-"))
        t.add_row("task", escape(self.task or "-"))
        for host, (state, task) in sorted(self.hosts.items()):
            style = self._STYLE.get(state) or "none"
            t.add_row(
                f"  {escape(host)}",
                f"[{style}]{escape(state)}[/{style}] [dim]{escape(task or '')}[/dim]",
            )
        return t

    def __call__(self, event: Any) -> None:
        kind = event.kind
        if kind == "stdout":
            err.print(event.message, markup=False, highlight=False)
            return
        if kind == "play":
            self.play = event.play
            if self._live is None and not self.verbose:
                err.print(f"PLAY {event.play}", markup=False)
        elif kind == "task":
            self.task = event.task
            self.tasks_done += 1
            if self._live is None and not self.verbose:
                err.print(f"  task {event.task}", markup=False)
        else:
            self.hosts[event.host] = (kind, event.task)
            if kind in {"failed", "unreachable"} and self._live is None and not self.verbose:
                err.print(f"    {event.host}: {kind}: {event.message}", markup=False)
        if self._live is not None:
            self._live.update(self._render())


def run_summary(result: Any) -> None:
    """Per-host recap after a playbook run."""
    table(
        f"{result.playbook}: {result.status}",
        ["host", "ok", "changed", "failed", "unreachable", "skipped"],
        (
            (h, s.ok, s.changed, s.failed, s.unreachable, s.skipped)
            for h, s in sorted(result.hosts.items())
        ),
    )


def _os_label(host: Any) -> str | None:
    if host.os_id == "raspios":  # 64-bit Pi OS calls itself Debian in os-release
        return f"Raspberry Pi OS ({host.os_pretty})" if host.os_pretty else "Raspberry Pi OS"
    return host.os_pretty or host.os_id


def hosts_table(hosts: Sequence[Any]) -> None:
    """Discovery results in three tables: Pis, hosts that are not Pis, SSH failures."""
    pis = [h for h in hosts if h.is_pi and not h.ssh_error]
    others = [h for h in hosts if not h.is_pi and not h.ssh_error]
    failed = [h for h in hosts if h.ssh_error]
    table(
        f"Raspberry Pis ({len(pis)})",
        ["ip", "hostname", "model", "RAM", "arch", "os", "memcg", "root", "mac"],
        (
            (
                h.ip,
                h.hostname,
                h.model or h.board_type,
                f"{h.board_memory_mb or h.memory_mb} MB",
                "/".join(a for a in (h.kernel_arch, h.userland_arch) if a) or "?",
                _os_label(h),
                {True: "yes", False: "no"}.get(h.memory_cgroup, "?"),
                h.root_kind,
                h.mac,
            )
            for h in pis
        ),
    )
    if others:
        table(
            f"Answered but not a Pi ({len(others)})",
            ["ip", "hostname", "os", "arch", "mac"],
            ((h.ip, h.hostname, _os_label(h), h.kernel_arch, h.mac) for h in others),
        )
    if failed:
        table(
            f"Not probed over SSH ({len(failed)})",
            ["ip", "reason", "likely Pi (MAC)", "mac", "hostname"],
            (
                (h.ip, h.ssh_error, "yes" if h.oui_match else "no", h.mac, h.hostname)
                for h in failed
            ),
        )


_MARK = {
    "pass": "[green]pass[/green]",
    "warn": "[yellow]warn[/yellow]",
    "fail": "[bold red]FAIL[/bold red]",
    "skip": "[dim]skip[/dim]",
}


def verify_report(report: Any) -> None:
    """A table per host; each failure or warning with its likely cause and fix."""
    by_host: dict[str, list[Any]] = {}
    for r in report.results:
        by_host.setdefault(r.host, []).append(r)
    for host, results in by_host.items():
        if out.is_terminal:
            t = Table(title=escape(host), title_justify="left")
            for col in ("check", "result", "detail"):
                t.add_column(col)
            for r in results:
                t.add_row(escape(r.name), _MARK.get(r.status, escape(r.status)), escape(r.detail))
            out.print(t)
        else:
            table(
                host, ["check", "result", "detail"], ((r.name, r.status, r.detail) for r in results)
            )
    problems = [r for r in report.results if r.status in {"fail", "warn"}]
    for r in problems:
        label = "FAIL" if r.status == "fail" else "warn"
        out.print(f"{label} {r.host}: {r.name}: {r.detail}\n    fix: {r.hint}", markup=False)
    counts = {
        s: sum(r.status == s for r in report.results) for s in ("pass", "warn", "fail", "skip")
    }
    out.print(
        f"{counts['pass']} passed, {counts['warn']} warnings, {counts['fail']} failed, "
        f"{counts['skip']} skipped",
        markup=False,
    )


def check_plan(result: Any) -> None:
    """After a check-mode run: what each node would change (nothing was changed)."""
    hosts = sorted(set(result.hosts) | set(result.changes))
    rows = []
    for host in hosts:
        changes = result.changes.get(host, [])
        rows.append((host, "\n".join(changes) if changes else "nothing to change"))
    table("plan (check mode: nothing was changed)", ["host", "would change"], rows)
