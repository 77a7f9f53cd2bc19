"""Remove k3s and put back what pi-k8s changed on the hosts: the job of `pi-k8s reset`.

The order is the contract: the flags, then the inventory and the hosts ``--limit`` picks
(``plan_reset``, before Ansible, so the caller can ask for confirmation), then
``reset.yml`` (agents, then servers); then, with ``forget``, the cluster's state on the
controller, only once every host is reset.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from pathlib import Path

from pi_k8s import ansible_vars, paths, runner
from pi_k8s.errors import SpecError, UsageError
from pi_k8s.operations.hooks import Hooks
from pi_k8s.runner import RunEvent, RunResult

PLAYBOOK = "reset.yml"
# reset.yml's tasks whose results the caller is told about (roles/pi_prereq/tasks).
REBOOT_TASKS = (
    "Reboot the host to apply the new kernel command line.",  # reboot.yml, a real reboot
    "Count the reboots pi-k8s asked for.",  # reboot.yml, the marker of a test host
)
CANNOT_REVERT_TASK = "Report what cannot be reverted without a record."  # revert.yml
DEFAULT_CLUSTER = "pi-k8s"  # k3s_install_cluster_name's default


@dataclass
class ResetOptions:
    """Which hosts and how; the defaults reset every host of the inventory."""

    limit: str | None = None  # only these hosts (Ansible pattern)
    check: bool = False  # dry run: report what would change
    forget: bool = False  # also remove the cluster's state on the controller
    verbose: bool = False  # stream Ansible's own output


@dataclass
class ResetPlan:
    """What a reset will touch, known before Ansible runs."""

    inventory: Path
    cluster: str  # the inventory's cluster_name
    hosts: list[str]  # the hosts reset.yml resets, sorted
    state: Path  # the cluster's state on the controller (what forget removes)


@dataclass
class ResetResult:
    plan: ResetPlan
    run: RunResult
    rebooted: list[str] = field(default_factory=list)  # hosts rebooted (cmdline.txt changed)
    warnings: dict[str, list[str]] = field(default_factory=dict)  # host → what was not reverted
    forgotten: Path | None = None  # the state directory removed by forget


def check_flags(options: ResetOptions) -> None:
    """UsageError for a combination of flags that cannot work (before anything is read)."""
    if options.forget and options.limit:
        raise UsageError(
            "--forget removes the cluster's state, so it needs every host reset: "
            "it does not go with --limit.",
            hint="Reset the hosts you want with --limit, or the whole cluster with --forget.",
        )
    if options.forget and options.check:
        raise UsageError(
            "--check changes nothing, so it cannot --forget.",
            hint="Drop --forget to see what the reset would change.",
        )


def plan_reset(inventory: Path, options: ResetOptions | None = None) -> ResetPlan:
    """The hosts and the cluster a reset of ``inventory`` touches.

    Raises UsageError for bad flags or a ``limit`` that names no host, SpecError for a
    missing or empty inventory or one without a ``k3s_cluster`` host.
    """
    options = options or ResetOptions()
    check_flags(options)
    inv = ansible_vars.load(inventory)
    every = ansible_vars.match_hosts(inventory, "k3s_cluster")
    if not every:
        raise SpecError(
            f"Inventory {inventory} has no host in the k3s_cluster group.",
            hint="A pi-k8s inventory puts its hosts under k3s_cluster's server and agent groups.",
        )
    hosts = ansible_vars.match_hosts(inventory, "k3s_cluster", options.limit)
    if not hosts:
        raise UsageError(
            f"--limit {options.limit} names no host of {inventory}.",
            hint=f"The cluster's hosts: {', '.join(every)}.",
        )
    names = {str(inv.hostvars[h].get("cluster_name") or DEFAULT_CLUSTER) for h in every}
    if len(names) > 1:
        raise SpecError(
            f"Inventory {inventory} gives its hosts different cluster names: "
            f"{', '.join(sorted(names))}.",
            hint="Set cluster_name once, in the k3s_cluster group's vars.",
        )
    cluster = names.pop()
    return ResetPlan(inventory, cluster, hosts, paths.state_dir() / "clusters" / cluster)


def run_reset(plan: ResetPlan, options: ResetOptions, hooks: Hooks | None = None) -> ResetResult:
    """Run reset.yml on ``plan.hosts``; with ``options.forget``, then remove ``plan.state``.

    Raises PlaybookFailed when reset.yml fails (after ``hooks.on_run`` saw the run); the
    state is then kept. What a host cannot have reverted (no record of it before pi-k8s)
    goes to ``hooks.warn`` and into the result.
    """
    hooks = hooks or Hooks()
    check_flags(options)
    warnings: dict[str, list[str]] = {}
    title = "reset (check mode)" if options.check else "reset"
    with hooks.playbook(title) as on_event:

        def collect(event: RunEvent) -> None:
            if event.kind == "ok" and event.task == CANNOT_REVERT_TASK and event.message:
                warnings.setdefault(event.host, []).append(event.message)
            if on_event is not None:
                on_event(event)

        result = runner.run_playbook(
            PLAYBOOK,
            inventory=plan.inventory,
            limit=options.limit,
            check=options.check,
            on_event=collect,
            verbosity=1 if options.verbose else 0,
        )
    hooks.on_run(result)
    result.raise_for_status()
    for messages in warnings.values():
        for message in messages:
            hooks.warn(message)
    rebooted = sorted(
        host
        for host, changes in result.changes.items()
        if any(change.startswith(REBOOT_TASKS) for change in changes)
    )
    outcome = ResetResult(plan, result, rebooted, warnings)
    if options.check:
        return outcome
    hooks.info(f"artifacts: {result.artifacts}")
    if options.forget:
        if plan.state.is_dir():
            shutil.rmtree(plan.state)
            outcome.forgotten = plan.state
            hooks.info(f"forgot cluster {plan.cluster}: removed {plan.state}")
        else:
            hooks.info(f"cluster {plan.cluster} has no state to forget ({plan.state} is not there)")
    return outcome
