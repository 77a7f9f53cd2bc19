"""`pi-k8s reboot`: a rolling reboot of a cluster pi-k8s remembers."""

from __future__ import annotations

from dataclasses import replace
from typing import Annotated, Any

import typer

from pi_k8s import console
from pi_k8s import operations as ops
from pi_k8s.cli._common import console_hooks, handles_errors
from pi_k8s.cli._options import (
    ClusterOpt,
    DrainForceOpt,
    DrainTimeoutOpt,
    JsonOpt,
    MaxUnavailableOpt,
    PlanOpt,
    VerboseOpt,
)


def _show_plan(plan: Any) -> None:
    batch = {h: i for i, b in enumerate(plan.batches, start=1) for h in b}
    console.table(
        f"cluster {plan.cluster}: rolling reboot",
        ["host", "role", "batch", "why"],
        ((n.hostname, n.role, batch.get(n.hostname, "skipped"), n.reason) for n in plan.nodes),
    )
    console.info(
        f"{len(plan.batches)} batch(es): servers one at a time, then up to "
        f"{plan.max_unavailable} agent(s) at once."
    )


@handles_errors
def reboot(
    cluster: ClusterOpt = None,
    max_unavailable: MaxUnavailableOpt = 1,
    only_if_needed: Annotated[
        bool,
        typer.Option(
            "--only-if-needed",
            help="Only the nodes where /var/run/reboot-required exists (unattended-upgrades).",
        ),
    ] = False,
    timeout: DrainTimeoutOpt = 300,
    force: DrainForceOpt = False,
    check: PlanOpt = False,
    verbose: VerboseOpt = False,
    as_json: JsonOpt = False,
) -> None:
    """Reboot every node without taking the cluster down: per node cordon, drain, reboot,
    wait for SSH and Ready, uncordon. Servers one at a time, then the agents."""
    hooks = (
        ops.Hooks()
        if as_json
        else replace(console_hooks(verbose=verbose), on_nodes_plan=_show_plan)
    )
    how = ops.RebootOptions(
        max_unavailable=max_unavailable, only_if_needed=only_if_needed, timeout=timeout, force=force
    )
    result = ops.reboot_cluster(how, cluster=cluster, check=check, verbose=verbose, hooks=hooks)
    if as_json:
        run = result.run
        console.print_json(
            {
                "plan": result.plan.to_dict(),
                "check": check,
                "status": run.status if run else None,
                "recap": {h: dict(vars(s)) for h, s in sorted(run.hosts.items())} if run else None,
                "steps": [s.to_dict() for s in result.steps],
                "state": str(result.state) if result.state else None,
            }
        )
    elif check:
        console.info("check: nothing was changed.")
    elif result.run is None:
        console.info("No node needs a reboot: nothing was changed.")
    else:
        rebooted = sum(len(b) for b in result.plan.batches)
        console.info(f"rebooted {rebooted} node(s); cluster state: {result.state}")


def register(root: typer.Typer) -> None:
    root.command("reboot")(reboot)
