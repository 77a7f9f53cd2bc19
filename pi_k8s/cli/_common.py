"""Shared by the CLI modules: error translation, the log file for unexpected errors, and
the hooks that draw an operation's progress with pi_k8s.console."""

from __future__ import annotations

import contextlib
import functools
import getpass
import inspect
import traceback
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, TypeVar

import typer

from pi_k8s import console, paths
from pi_k8s import operations as ops
from pi_k8s.cli._options import AskBecomePassOpt, FastOpt, JsonOpt, PlanOpt, VerboseOpt
from pi_k8s.errors import PiK8sError, UsageError

if TYPE_CHECKING:
    from pi_k8s.operations import Hooks, InventoryPlan

F = TypeVar("F", bound=Callable[..., Any])


def handles_errors(func: F) -> F:
    """Translate domain errors into message + hint + exit code, once, for every command."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except PiK8sError as exc:
            console.error(exc.message, exc.hint)
            raise typer.Exit(exc.exit_code) from None
        except KeyboardInterrupt:
            console.error("Interrupted.")
            raise typer.Exit(130) from None
        except (typer.Exit, typer.Abort):
            raise
        except Exception as exc:  # the one place unexpected errors are caught
            trace = traceback.format_exc()
            log = paths.state_dir() / "error.log"
            try:
                paths.ensure_private_dir(log.parent)
                with log.open("a") as fh:
                    fh.write(trace + "\n")
            except (OSError, PiK8sError) as log_exc:  # e.g. PI_K8S_STATE_DIR names a file
                console.error(
                    f"Unexpected error: {type(exc).__name__}: {exc}",
                    f"Could not write the trace to {log} ({log_exc}); "
                    "it follows on stderr. Please report it.",
                )
                console.trace(trace)
            else:
                console.error(
                    f"Unexpected error: {type(exc).__name__}: {exc}",
                    f"The full trace is in {log}; please report it.",
                )
            raise typer.Exit(1) from None

    return wrapper  # type: ignore[return-value]


def become(ask: bool) -> contextlib.AbstractContextManager[None]:
    """-K: every playbook run inside answers sudo's prompt with the password, asked once
    (getpass: on the terminal, never echoed) when the first playbook starts, so input the
    command refuses first asks nothing; without -K, a context that does nothing."""
    return ops.become_password(_ask_become_password) if ask else contextlib.nullcontext()


def _ask_become_password() -> str:
    try:
        password = getpass.getpass("BECOME password: ")
    except EOFError:
        password = ""
    if not password:
        raise UsageError(
            "-K (--ask-become-pass) was given but no sudo password was typed.",
            hint="Type the hosts' sudo password at the prompt, or leave out -K.",
        )
    return password


def show_plan(cluster: str, plan: InventoryPlan) -> None:
    """The roles `pi-k8s inventory` chose, with their reasons, and its warnings."""
    console.table(
        f"cluster {cluster}: roles",
        ["host", "ip", "role", "reason"],
        ((d.host.hostname or "-", d.host.ip, d.role, d.reason) for d in plan.decisions),
    )
    for warning in plan.warnings:
        console.warn(warning)


def progress_hooks(*, verbose: bool = False) -> Hooks:
    """Progress only (lines, warnings, the playbook's), all on stderr: what a command keeps
    with --json, where stdout holds only the JSON."""
    return ops.Hooks(
        step=console.step,
        info=console.info,
        warn=console.warn,
        playbook=lambda title: console.PlaybookProgress(title, verbose=verbose),
    )


def console_hooks(*, verbose: bool = False) -> Hooks:
    """Draw everything an operation reports: progress lines, playbook progress, tables."""
    return replace(
        progress_hooks(verbose=verbose),
        on_run=console.run_summary,
        on_plan=show_plan,
        on_report=console.verify_report,
    )


def verify_hooks(*, as_json: bool = False) -> Hooks:
    """verify's progress lines and report tables, or (``as_json``) progress on stderr and
    the report as JSON alone on stdout."""
    if as_json:
        return replace(
            progress_hooks(),
            on_report=lambda report: console.print_json(report.to_dict(), schema="verify"),
        )
    return console_hooks()


@dataclass(frozen=True)
class Day2Output:
    """What every day-2 command's --check, --verbose and --json ask for (see day2_command)."""

    schema: str  # the command's JSON Schema (pi_k8s/schemas)
    check: bool = False
    verbose: bool = False
    as_json: bool = False

    def hooks(self, show_plan: Callable[[Any], None] | None = None) -> Hooks:
        """Progress on stderr only with --json (the JSON says the rest), else the console's,
        plus the plan."""
        if self.as_json:
            return progress_hooks(verbose=self.verbose)
        hooks = console_hooks(verbose=self.verbose)
        return replace(hooks, on_nodes_plan=show_plan) if show_plan else hooks

    def finish(self, result: Any, done: str, **more: Any) -> None:
        """The plan, the run's status and recap, the state written (and ``more``) as JSON;
        or a line: nothing changed (--check), or ``done``."""
        if self.as_json:
            run = result.run
            console.print_json(
                {
                    "plan": result.plan.to_dict(),
                    "check": self.check,
                    "status": run.status if run else None,
                    "recap": run.to_dict()["recap"] if run else None,
                    **more,
                    "state": str(result.state) if result.state else None,
                },
                schema=self.schema,
            )
        elif self.check:
            console.info("check: nothing was changed.")
        else:
            console.info(f"{done}; cluster state: {result.state}")


_DAY2_OPTIONS = [
    inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=False, annotation=option)
    for name, option in (
        ("check", PlanOpt),
        ("verbose", VerboseOpt),
        ("as_json", JsonOpt),
        ("ask_become_pass", AskBecomePassOpt),
        ("fast", FastOpt),
    )
]


def day2_command(schema: str) -> Callable[[F], F]:
    """Declare --check, --verbose, --json, -K and --fast once for every day-2 command.

    The command takes ``out: Day2Output`` as its last parameter; Typer sees the three
    options in its place (the wrapper's ``__signature__``), and the command gets them as
    one value that also builds its hooks and prints its outcome (JSON per ``schema``)."""

    def decorate(func: F) -> F:
        signature = inspect.signature(func, eval_str=True)
        own = [p for p in signature.parameters.values() if p.name != "out"]

        @functools.wraps(func)
        def wrapper(
            *args: Any,
            check: bool = False,
            verbose: bool = False,
            as_json: bool = False,
            ask_become_pass: bool = False,
            fast: bool = False,
            **kw: Any,
        ) -> Any:
            # -K: asked once, before the command; --check runs no playbook, asks nothing.
            with ops.fast_strategy(fast), become(ask_become_pass and not check):
                return func(*args, out=Day2Output(schema, check, verbose, as_json), **kw)

        wrapper.__signature__ = signature.replace(parameters=[*own, *_DAY2_OPTIONS])  # type: ignore[attr-defined]
        wrapper.__annotations__ = {p.name: p.annotation for p in [*own, *_DAY2_OPTIONS]}
        return wrapper  # type: ignore[return-value]

    return decorate
