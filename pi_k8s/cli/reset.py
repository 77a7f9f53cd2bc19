"""`pi-k8s reset`: remove k3s and put back what pi-k8s changed on the hosts."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from pi_k8s import console
from pi_k8s import operations as ops
from pi_k8s.cli._common import become, console_hooks, handles_errors, progress_hooks
from pi_k8s.cli._options import (
    AskBecomePassOpt,
    CheckOpt,
    ClusterOpt,
    FastOpt,
    InventoryOpt,
    LimitOpt,
    VerboseOpt,
    YesOpt,
)
from pi_k8s.errors import UsageError


def _to_dict(result: ops.ResetResult, check: bool) -> dict[str, object]:
    return {
        "cluster": result.plan.cluster,
        "check": check,
        "hosts": [
            {
                "host": host,
                "changed": result.run.hosts[host].changed if host in result.run.hosts else 0,
                "rebooted": host in result.rebooted,
                "not_reverted": result.warnings.get(host, []),
            }
            for host in result.plan.hosts
        ],
        "forgotten": str(result.forgotten) if result.forgotten else None,
        "artifacts": str(result.run.artifacts),
    }


@handles_errors
def reset(
    cluster: ClusterOpt = None,
    inventory: InventoryOpt = None,
    limit: LimitOpt = None,
    yes: YesOpt = False,
    forget: Annotated[
        bool,
        typer.Option(
            "--forget",
            help="Then remove the cluster's state on this machine "
            "($PI_K8S_STATE_DIR/clusters/NAME: its token); not with --limit.",
        ),
    ] = False,
    check: CheckOpt = False,
    verbose: VerboseOpt = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
    ask_become_pass: AskBecomePassOpt = False,
    fast: FastOpt = False,
) -> None:
    """Uninstall k3s and put back what pi-k8s changed; reboot only where cmdline.txt changed."""
    options = ops.ResetOptions(limit=limit, check=check, forget=forget, verbose=verbose)
    with ops.fast_strategy(fast):  # a missing Mitogen is refused before the question
        _reset(ops.target_inventory(cluster, inventory), options, yes, as_json, ask_become_pass)


def _reset(
    inventory: Path, options: ops.ResetOptions, yes: bool, as_json: bool, ask_become_pass: bool
) -> None:
    check, verbose = options.check, options.verbose
    plan = ops.plan_reset(inventory, options)
    if not yes and not check:
        if not console.can_ask():
            raise UsageError(
                f"pi-k8s reset removes k3s from {len(plan.hosts)} host(s) "
                f"({', '.join(plan.hosts)}); without a terminal to confirm it needs --yes.",
                hint=f"Re-run with --yes: pi-k8s reset -i {inventory} --yes",
            )
        console.info(
            f"cluster {plan.cluster}: k3s will be removed and pi-k8s's changes put back on "
            f"{', '.join(plan.hosts)}"
            + (f"; then {plan.state} is removed." if options.forget else ".")
        )
        if not console.confirm(f"Reset {len(plan.hosts)} host(s)?"):
            console.info("Nothing was reset.")
            return
    hooks = progress_hooks(verbose=verbose) if as_json else console_hooks(verbose=verbose)
    with become(ask_become_pass):
        result = ops.run_reset(plan, options, hooks)
    if as_json:
        console.print_json(_to_dict(result, check), schema="reset")
    elif check:
        console.check_plan(result.run)
    elif result.rebooted:
        console.info(f"rebooted (cmdline.txt changed): {', '.join(result.rebooted)}")


def register(app: typer.Typer) -> None:
    app.command("reset")(reset)
