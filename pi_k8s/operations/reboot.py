"""Reboot a cluster pi-k8s remembers without taking it down: the job of `pi-k8s reboot`.

Order: the flags (before anything is read); the cluster's state and inventory; one read
of every node (status's SSH round trip and the API's node list; with ``only_if_needed``
also whether ``/var/run/reboot-required`` exists), refusing a node that is not Ready or
cannot be read; the plan (servers one at a time in inventory order, then the agents in
batches of ``max_unavailable``, the batches Ansible's ``serial`` makes); then
``reboot.yml``, whose per-node steps are reported as they happen; then the run in
cluster.json.
"""

from __future__ import annotations

import shlex
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pi_k8s import runner, status
from pi_k8s.ansible_vars import AnsibleInventory
from pi_k8s.errors import UsageError
from pi_k8s.operations.clusters import open_cluster, remember_run, started_now
from pi_k8s.operations.hooks import Hooks
from pi_k8s.runner import EventCallback, RunEvent, RunResult
from pi_k8s.status.hosts import HostUnreadable, ansible_config, run_on_host

PLAYBOOK = "reboot.yml"
# Debian's unattended-upgrades (and update-notifier-common) write it when a package asks
# for a reboot; it lives on a tmpfs, so a reboot removes it.
REBOOT_REQUIRED = "/var/run/reboot-required"

# The tasks of reboot.yml (and of the roles it includes) whose result is a step of a node,
# by the start of their name: the progress and the JSON's ``steps`` say them as they happen.
STEPS: tuple[tuple[str, str], ...] = (
    ("Report that the node needs no reboot", "skipped (no reboot required)"),
    ("Ensure the node is cordoned", "cordoned"),
    ("Ensure the node is drained", "drained"),
    ("Reboot the host", "rebooted"),  # pi_prereq's reboot.yml, a real reboot
    ("Count the reboots pi-k8s asked for", "rebooted (recorded)"),  # the marker of a container
    ("Remove the reboot-required flag", "reboot-required removed"),
    ("Wait until the node answers over SSH again", "answers over SSH"),
    ("Wait until the node is Ready", "Ready"),
    ("Ensure the node is schedulable", "uncordoned"),
)


@dataclass(frozen=True)
class RebootOptions:
    """``max_unavailable`` agents at once; ``only_if_needed``: only the nodes with
    /var/run/reboot-required; ``timeout`` and ``force`` are drain's."""

    max_unavailable: int = 1
    only_if_needed: bool = False
    timeout: int = 300
    force: bool = False


@dataclass
class NodePlan:
    hostname: str
    role: str  # server | agent
    reboot: bool
    reason: str


@dataclass
class RebootPlan:
    cluster: str
    max_unavailable: int
    only_if_needed: bool
    nodes: list[NodePlan]
    batches: list[list[str]]  # the nodes rebooted together, in order
    notes: list[str] = field(default_factory=list)

    @property
    def skipped(self) -> list[str]:
        return [n.hostname for n in self.nodes if not n.reboot]

    def to_dict(self) -> dict[str, Any]:
        return {
            "cluster": self.cluster,
            "max_unavailable": self.max_unavailable,
            "only_if_needed": self.only_if_needed,
            "nodes": [dict(n.__dict__) for n in self.nodes],
            "batches": self.batches,
            "skipped": self.skipped,
            "notes": self.notes,
        }


@dataclass
class Step:
    """One step of one node, as the run reported it."""

    host: str
    step: str
    at: float  # seconds since the playbook started

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass
class RebootResult:
    plan: RebootPlan
    run: RunResult | None = None  # None: --check, or nothing to reboot
    steps: list[Step] = field(default_factory=list)
    state: Path | None = None


def check_options(how: RebootOptions) -> None:
    """UsageError for flags that cannot work, before anything is read."""
    if how.max_unavailable < 1:
        raise UsageError(
            f"--max-unavailable {how.max_unavailable} must be at least 1.",
            hint="The agents rebooted at once, e.g. --max-unavailable 2 "
            "(servers always go one at a time).",
        )
    if how.timeout < 1:
        raise UsageError(
            f"--timeout {how.timeout} must be at least 1 second.", hint="e.g. --timeout 300"
        )


def reboot_cluster(
    how: RebootOptions = RebootOptions(),
    *,
    cluster: str | None = None,
    check: bool = False,
    verbose: bool = False,
    hooks: Hooks | None = None,
) -> RebootResult:
    """Reboot the members. Raises UsageError before any host is touched (bad flags, an
    unknown cluster, a node not Ready or unreadable); PlaybookFailed when the run stops
    (naming the node and the step)."""
    hooks = hooks or Hooks()
    check_options(how)
    state, inventory, loaded = open_cluster(cluster)
    name = state.name
    order = _order(loaded)
    hooks.step(f"Reading {len(order)} node(s) of cluster {name} …")
    report = status.gather(loaded, state, inventory)
    _refuse_not_ready(report, order)
    needed = _reboot_required(loaded, [h for h, _ in order]) if how.only_if_needed else {}
    plan = plan_reboot(name, order, how, needed)
    hooks.on_nodes_plan(plan)
    for note in plan.notes:
        hooks.warn(note)
    if check or not plan.batches:
        return RebootResult(plan)
    extra: dict[str, Any] = {
        "reboot_max_unavailable": how.max_unavailable,
        "reboot_only_if_needed": how.only_if_needed,
        "reboot_timeout": how.timeout,
        "reboot_force": how.force,
    }
    steps: list[Step] = []
    started = started_now()
    title = f"reboot ({', '.join(h for b in plan.batches for h in b)})"
    with hooks.playbook(title) as on_event:
        result = runner.run_playbook(
            PLAYBOOK,
            inventory=inventory,
            extravars=extra,
            on_event=_tracking(on_event, steps, hooks.step),
            verbosity=1 if verbose else 0,
        )
    hooks.on_run(result)
    written = remember_run("reboot", inventory, loaded, {}, result, started=started)
    result.raise_for_status()
    return RebootResult(plan, result, steps, written)


def plan_reboot(
    cluster: str,
    order: list[tuple[str, str]],
    how: RebootOptions,
    needed: Mapping[str, bool],
) -> RebootPlan:
    """The nodes and batches, as reboot.yml's ``serial`` cuts ``server:agent``: one batch
    per server, then batches of ``max_unavailable`` agents; a node that needs no reboot
    (``only_if_needed`` and ``needed`` says no) keeps its place in its batch, unrebooted,
    and a batch left empty is dropped."""
    check_options(how)
    nodes = []
    for host, role in order:
        if not how.only_if_needed:
            nodes.append(NodePlan(host, role, True, "every node"))
        elif needed.get(host):
            nodes.append(NodePlan(host, role, True, f"{REBOOT_REQUIRED} exists"))
        else:
            nodes.append(NodePlan(host, role, False, f"no {REBOOT_REQUIRED}"))
    servers = [n for n in nodes if n.role == "server"]
    agents = [n for n in nodes if n.role == "agent"]
    cuts = [[n] for n in servers] + [
        agents[i : i + how.max_unavailable] for i in range(0, len(agents), how.max_unavailable)
    ]
    batches = [[n.hostname for n in cut if n.reboot] for cut in cuts]
    notes = []
    if how.only_if_needed and not any(batches):
        notes.append(f"No node has {REBOOT_REQUIRED}: nothing to reboot.")
    if how.max_unavailable > 1 and len(agents) > 0:
        notes.append(
            f"Up to {how.max_unavailable} agents are out of service at once "
            f"({len(agents)} agent(s)); make sure the rest can carry their pods."
        )
    return RebootPlan(
        cluster=cluster,
        max_unavailable=how.max_unavailable,
        only_if_needed=how.only_if_needed,
        nodes=nodes,
        batches=[b for b in batches if b],
        notes=notes,
    )


def _order(inv: AnsibleInventory) -> list[tuple[str, str]]:
    """(host, role) as reboot.yml's ``hosts: server:agent`` lists them."""
    servers = inv.groups.get("server", [])
    agents = [h for h in inv.groups.get("agent", []) if h not in servers]
    return [(h, "server") for h in servers] + [(h, "agent") for h in agents]


def _refuse_not_ready(report: status.StatusReport, order: list[tuple[str, str]]) -> None:
    """UsageError naming each node that cannot be read or is not Ready now."""
    rows = {r.hostname: r for r in report.nodes}
    problems = []
    for host, _ in order:
        row = rows.get(host)
        if row is None or not row.reachable:
            problems.append(f"{host}: cannot be read ({row.error if row else 'not probed'})")
        elif row.ready != "True":
            why = f", {row.ready_reason}" if row.ready_reason else ""
            problems.append(f"{host}: Ready is {row.ready or 'unknown'}{why}")
    if report.api.node_list_from is None:
        problems.append(f"no server gave the node list ({report.api.node_list_error})")
    if problems:
        raise UsageError(
            "Not every node is Ready, so a rolling reboot would take more than one out of "
            "service:\n  " + "\n  ".join(problems),
            hint="Bring those nodes back first (`pi-k8s status` and `pi-k8s verify` say why), "
            "then run `pi-k8s reboot` again.",
        )


def _reboot_required(inv: AnsibleInventory, hosts: list[str]) -> dict[str, bool]:
    """Whether each host has /var/run/reboot-required (read over SSH, nothing changed);
    UsageError naming every node that could not be read."""
    config = ansible_config()
    command = f"test -e {shlex.quote(REBOOT_REQUIRED)} && echo yes || echo no"

    def read(host: str) -> bool | str:
        """The answer, or why there is none."""
        try:
            out = run_on_host(host, inv.hostvars[host], command, become=False, config=config)
        except HostUnreadable as exc:
            return f"{host}: {exc}"
        answer = out.stdout.strip()
        return answer == "yes" if answer in {"yes", "no"} else f"{host}: answered {answer[:200]!r}"

    with ThreadPoolExecutor(max_workers=min(32, len(hosts) or 1)) as pool:
        answers = dict(zip(hosts, pool.map(read, hosts), strict=True))
    unread = [a for a in answers.values() if isinstance(a, str)]
    if unread:
        raise UsageError(
            f"Could not read {REBOOT_REQUIRED} on every node:\n  " + "\n  ".join(unread),
            hint="Check that those nodes answer over SSH (`pi-k8s status`), then run again.",
        )
    return {h: a for h, a in answers.items() if isinstance(a, bool)}


def step_of(task: str) -> str | None:
    """The step a task of reboot.yml stands for, or None."""
    return next((step for start, step in STEPS if task.startswith(start)), None)


def _tracking(
    on_event: EventCallback | None, steps: list[Step], say: Callable[[str], None]
) -> EventCallback:
    """Pass events on, and note (and say) each node's steps as their tasks finish."""
    started = time.monotonic()

    def handle(event: RunEvent) -> None:
        if on_event is not None:
            on_event(event)
        if event.kind not in {"ok", "changed"} or not event.host:
            return
        step = step_of(event.task)
        if step is None:
            return
        steps.append(Step(event.host, step, round(time.monotonic() - started, 2)))
        say(f"{event.host}: {step}")

    return handle
