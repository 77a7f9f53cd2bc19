"""How an operation tells its caller what is happening, without printing.

Operations never draw. The caller (the CLI, or a program using the Python API) passes a
``Hooks`` whose callbacks it draws with; every hook defaults to doing nothing, so
``Hooks()`` runs an operation silently.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pi_k8s.runner import EventCallback, RunResult

if TYPE_CHECKING:
    from pi_k8s.deploy import DeployResult, WaitResult
    from pi_k8s.inventory import InventoryPlan
    from pi_k8s.rollout import RolloutStatus
    from pi_k8s.verify import VerifyReport


def _ignore(_: Any) -> None:
    return None


def _ignore2(_: Any, __: Any) -> None:
    return None


def _no_progress(_: str) -> AbstractContextManager[EventCallback | None]:
    return contextlib.nullcontext(None)


@dataclass
class Hooks:
    """Callbacks an operation calls as it goes; each one optional."""

    # One line of progress ("Discovering hosts …", "rpi-1: checked").
    step: Callable[[str], None] = _ignore
    # A finished step worth keeping on screen ("artifacts: …", "nothing to wait for").
    info: Callable[[str], None] = _ignore
    # A warning that does not stop the operation.
    warn: Callable[[str], None] = _ignore
    # title → a context manager giving the playbook's on_event callback while it runs.
    playbook: Callable[[str], AbstractContextManager[EventCallback | None]] = _no_progress
    # A playbook finished (called before its status is checked).
    on_run: Callable[[RunResult], None] = _ignore
    # (cluster name, roles decided): called before the inventory file is written.
    on_plan: Callable[[str, InventoryPlan], None] = _ignore2
    # The verify report is complete (called before a failure is raised).
    on_report: Callable[[VerifyReport], None] = _ignore
    # deploy: the changes a run made (or would make, with --check).
    on_changes: Callable[[DeployResult], None] = _ignore
    # deploy: one poll of the rollouts.
    on_poll: Callable[[list[RolloutStatus]], None] = _ignore
    # deploy: the rollouts waited for.
    on_waited: Callable[[WaitResult], None] = _ignore
    # nodes add / nodes remove / reboot: the plan, before any host is touched.
    on_nodes_plan: Callable[[Any], None] = _ignore
