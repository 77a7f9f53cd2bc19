"""`pi-k8s reboot`: a rolling reboot of a cluster pi-k8s remembers."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from pi_k8s import console
from pi_k8s import operations as ops
from pi_k8s.cli._common import Day2Output, day2_command, handles_errors
from pi_k8s.cli._options import (
    ClusterOpt,
    DrainForceOpt,
    DrainTimeoutOpt,
    MaxUnavailableOpt,
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
@day2_command("reboot")
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
    *,
    out: Day2Output,
) -> None:
    """Reboot every node without taking the cluster down: per node cordon, drain, reboot,
    wait for SSH and Ready, uncordon. Servers one at a time, then the agents."""
    how = ops.RebootOptions(
        max_unavailable=max_unavailable, only_if_needed=only_if_needed, timeout=timeout, force=force
    )
    result = ops.reboot_cluster(
        how, cluster=cluster, check=out.check, verbose=out.verbose, hooks=out.hooks(_show_plan)
    )
    if result.run is None and not (out.check or out.as_json):
        console.info("No node needs a reboot: nothing was changed.")
        return
    rebooted = sum(len(b) for b in result.plan.batches)
    out.finish(result, f"rebooted {rebooted} node(s)", steps=[s.to_dict() for s in result.steps])


def register(root: typer.Typer) -> None:
    root.command("reboot")(reboot)
