"""`pi-k8s deploy`: put the workloads of a spec on the cluster, validated first."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Annotated

import typer

from pi_k8s import console
from pi_k8s import operations as ops
from pi_k8s.cli._common import console_hooks, handles_errors, progress_hooks
from pi_k8s.cli._options import ClusterOpt, FastOpt, InventoryOpt, JsonOpt

_ACTION_TEXT = {
    "added": "added",
    "changed": "changed",
    "unchanged": "unchanged",
    "removed": "removed (resources deleted)",
    "stale": "not in the spec (kept; --prune deletes it)",
}
_CHECK_TEXT = {
    "added": "would be added",
    "changed": "would change",
    "unchanged": "unchanged",
    "removed": "would be removed (resources deleted)",
    "stale": "not in the spec (would be kept; --prune deletes it)",
}


def _render_changes(result: ops.DeployResult) -> None:
    texts = _CHECK_TEXT if result.check else _ACTION_TEXT
    console.table(
        "workloads (check: nothing was changed)" if result.check else "workloads",
        ["workload", "file", "result", "servers"],
        ((c.name, c.filename, texts[c.action], ", ".join(c.hosts)) for c in result.changes),
    )
    if result.check:
        for c in result.changes:
            if c.diff and c.action != "stale":
                console.out.print(c.diff.rstrip("\n"), markup=False, highlight=False)
    _warn_stale(result)


def _warn_stale(result: ops.DeployResult) -> None:
    for c in result.stale:
        console.warn(
            f"{c.filename} on {', '.join(c.hosts)} is no longer in the spec; its resources "
            "stay on the cluster. Run deploy with --prune to delete them."
        )


def _deploy_hooks() -> ops.Hooks:
    """The console's hooks, plus deploy's tables and a line per rollout poll."""
    return replace(
        console_hooks(),
        on_changes=_render_changes,
        on_poll=lambda statuses: console.step(
            ", ".join(f"{s.target.workload}: {s.state}" for s in statuses)
        ),
        on_waited=_render_wait,
    )


def _json_hooks() -> ops.Hooks:
    """--json: progress and the stale warnings on stderr; the JSON holds the rest."""
    return replace(progress_hooks(), on_changes=_warn_stale)


def _to_dict(outcome: ops.DeployOutcome) -> dict:
    """The run, each workload's action (no diff: --check's diffs are for the terminal), and
    the rollouts waited for (null with --check or --no-wait)."""
    result, waited = outcome.result, outcome.waited
    return {
        "check": result.check,
        "prune": result.prune,
        "run": result.run.to_dict(),
        "workloads": [
            {"name": c.name, "file": c.filename, "action": c.action, "servers": c.hosts}
            for c in result.changes
        ],
        "rollouts": None
        if waited is None
        else {
            "timed_out": waited.timed_out,
            "statuses": [
                {
                    "workload": s.target.workload,
                    "kind": s.target.kind,
                    "namespace": s.target.namespace,
                    "name": s.target.name,
                    "state": s.state,
                    "detail": s.detail,
                }
                for s in waited.statuses
            ],
        },
    }


def _render_wait(result: ops.WaitResult) -> None:
    console.table(
        "rollouts",
        ["workload", "object", "state", "detail"],
        ((s.target.workload, s.target.label, s.state, s.detail) for s in result.statuses),
    )


@handles_errors
def deploy(
    spec: Annotated[
        Path, typer.Option("--spec", "-s", help="The workloads spec (see examples/).")
    ] = Path("workloads.yaml"),
    cluster: ClusterOpt = None,
    inventory: InventoryOpt = None,
    check: Annotated[
        bool,
        typer.Option(
            "--check", help="Show what would be added, changed or removed; change nothing."
        ),
    ] = False,
    prune: Annotated[
        bool,
        typer.Option(
            "--prune", help="Delete the workloads pi-k8s deployed that the spec no longer has."
        ),
    ] = False,
    wait: Annotated[
        bool,
        typer.Option(
            "--wait/--no-wait",
            help="Wait for Deployments, DaemonSets, StatefulSets, Helm installs.",
        ),
    ] = True,
    timeout: Annotated[
        float, typer.Option("--timeout", min=1, help="Seconds --wait waits at most.")
    ] = 300,
    var: Annotated[
        list[str] | None,
        typer.Option("--var", help="NAME=VALUE for the .j2 templates (repeatable)."),
    ] = None,
    as_json: JsonOpt = False,
    fast: FastOpt = False,
) -> None:
    """Validate the workloads, place them on every server (k3s applies them), wait for rollouts."""
    with ops.fast_strategy(fast):
        outcome = ops.run_deploy(
            spec,
            ops.target_inventory(cluster, inventory),
            check=check,
            prune=prune,
            wait=wait,
            timeout=timeout,
            cli_vars=var,
            hooks=_json_hooks() if as_json else _deploy_hooks(),
        )
    if as_json:
        console.print_json(_to_dict(outcome), schema="deploy")


def register(app: typer.Typer) -> None:
    app.command("deploy")(deploy)
