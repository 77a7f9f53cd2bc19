"""`pi-k8s upgrade`: move a cluster to another k3s release, node by node, drained."""

from __future__ import annotations

from typing import Any

from pi_k8s import console
from pi_k8s import operations as ops
from pi_k8s.cli._common import Day2Output, day2_command, handles_errors
from pi_k8s.cli._options import (
    AirgapOpt,
    ClusterOpt,
    DrainForceOpt,
    DrainTimeoutOpt,
    K3sChannelOpt,
    K3sVersionOpt,
    MaxUnavailableOpt,
    MirrorOpt,
)


def _show_plan(plan: Any) -> None:
    console.table(
        f"cluster {plan.cluster}: upgrade to {plan.version}"
        + (f" (channel {plan.channel})" if plan.channel else ""),
        ["node", "role", "now", "after", "action"],
        ((n.hostname, n.role, n.now or "-", n.after, n.action) for n in plan.nodes),
    )
    console.info(
        f"servers one at a time, then agents {plan.max_unavailable} at a time; from {plan.source}."
    )


@handles_errors
@day2_command("upgrade")
def upgrade(
    k3s_version: K3sVersionOpt = None,
    k3s_channel: K3sChannelOpt = None,
    cluster: ClusterOpt = None,
    airgap: AirgapOpt = None,
    mirror: MirrorOpt = None,
    max_unavailable: MaxUnavailableOpt = 1,
    timeout: DrainTimeoutOpt = 300,
    force: DrainForceOpt = False,
    *,
    out: Day2Output,
) -> None:
    """Per node, servers first: cordon, drain, install the verified release, restart, wait
    until Ready at it, uncordon. Stops at the first failure; re-running resumes."""
    # In UpgradeOptions' field order: the release, where from, then the pace.
    options = ops.UpgradeOptions(
        k3s_version, k3s_channel, airgap, mirror, max_unavailable, timeout, force
    )
    result = ops.upgrade_cluster(
        options,
        cluster=cluster,
        check=out.check,
        verbose=out.verbose,
        hooks=out.hooks(_show_plan),
    )
    done = f"upgraded {len(result.plan.to_upgrade)} node(s) to {result.plan.version}"
    out.finish(result, done)


def register(app: Any) -> None:
    app.command("upgrade")(upgrade)
