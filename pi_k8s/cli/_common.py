"""Shared by the CLI modules: error translation, the log file for unexpected errors, and
the hooks that draw an operation's progress with pi_k8s.console."""

from __future__ import annotations

import functools
import traceback
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

import typer

from pi_k8s import console, paths
from pi_k8s import operations as ops
from pi_k8s.errors import PiK8sError

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


def show_plan(cluster: str, plan: InventoryPlan) -> None:
    """The roles `pi-k8s inventory` chose, with their reasons, and its warnings."""
    console.table(
        f"cluster {cluster}: roles",
        ["host", "ip", "role", "reason"],
        ((d.host.hostname or "-", d.host.ip, d.role, d.reason) for d in plan.decisions),
    )
    for warning in plan.warnings:
        console.warn(warning)


def console_hooks(*, verbose: bool = False) -> Hooks:
    """Draw everything an operation reports: progress lines, playbook progress, tables."""
    return ops.Hooks(
        step=console.step,
        info=console.info,
        warn=console.warn,
        playbook=lambda title: console.PlaybookProgress(title, verbose=verbose),
        on_run=console.run_summary,
        on_plan=show_plan,
        on_report=console.verify_report,
    )


def verify_hooks(*, as_json: bool = False) -> Hooks:
    """verify's progress lines and report tables, or (``as_json``) the report as JSON only."""
    if as_json:
        return ops.Hooks(on_report=lambda report: console.print_json(report.to_dict()))
    return console_hooks()


def day2_outcome(result: Any, check: bool, as_json: bool, done: str) -> None:
    """The plan, the run's status and recap, and the state written: JSON, or a line."""
    if as_json:
        console.print_json(
            {
                "plan": result.plan.to_dict(),
                "check": check,
                "status": result.run.status if result.run else None,
                "recap": _recap(result.run),
                "state": str(result.state) if result.state else None,
            }
        )
    elif check:
        console.info("check: nothing was changed.")
    else:
        console.info(f"{done}; cluster state: {result.state}")


def _recap(run: Any) -> dict[str, dict[str, int]] | None:
    """The playbook's per-host recap (ok, changed, failed, unreachable, skipped)."""
    return {h: dict(vars(s)) for h, s in sorted(run.hosts.items())} if run else None
