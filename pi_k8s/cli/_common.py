"""Shared by the CLI modules: error translation and the log file for unexpected errors."""

from __future__ import annotations

import functools
import traceback
from collections.abc import Callable
from typing import Any, TypeVar

import typer

from pi_k8s import console, paths
from pi_k8s.errors import PiK8sError

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
