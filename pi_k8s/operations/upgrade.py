"""Move a cluster pi-k8s remembers to another k3s release: the job of `pi-k8s upgrade`.

Order: the flags; the cluster's state; the release (``--k3s-version``, or the channel
resolved once on the controller) and where it comes from (the flags, else cluster.json's
source); the nodes' versions now, read from the API in one pass (pi_k8s.status), every
node Ready; the plan (per node: now → after, servers before agents) with its refusals (a
downgrade, a skipped minor release); then ``upgrade.yml`` (per node: cordon, drain,
verified binary, restart, Ready at the new release, uncordon; stop at the first failure);
then cluster.json records the release (and the channel it follows).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pi_k8s import ansible_vars, clusters, k3s_versions, release, status
from pi_k8s.errors import SpecError, UsageError
from pi_k8s.operations.clusters import PlannedRun, open_cluster, remember_run, run_on_cluster
from pi_k8s.operations.hooks import Hooks

PLAYBOOK = "upgrade.yml"


@dataclass(frozen=True)
class UpgradeOptions:
    """What to upgrade to and how: one of ``k3s_version`` and ``k3s_channel``; the
    release from ``airgap`` or ``mirror`` (neither: where cluster.json says the cluster's
    came from); agents in batches of ``max_unavailable``; drain's ``timeout`` and ``force``."""

    k3s_version: str | None = None
    k3s_channel: str | None = None
    airgap: Path | None = None
    mirror: str | None = None
    max_unavailable: int = 1
    timeout: int = 300
    force: bool = False


@dataclass
class NodeUpgrade:
    hostname: str
    role: str
    now: str | None  # the kubelet version the API reports
    after: str
    action: str  # "upgrade" | "skip" (already at the release)


@dataclass
class UpgradePlan:
    cluster: str
    version: str
    channel: str | None
    source: str
    nodes: list[NodeUpgrade]
    max_unavailable: int
    notes: list[str] = field(default_factory=list)

    @property
    def to_upgrade(self) -> list[NodeUpgrade]:
        return [n for n in self.nodes if n.action == "upgrade"]

    def to_dict(self) -> dict[str, Any]:
        return {
            "cluster": self.cluster,
            "version": self.version,
            "channel": self.channel,
            "source": self.source,
            "max_unavailable": self.max_unavailable,
            "nodes": [n.__dict__.copy() for n in self.nodes],
            "notes": self.notes,
        }


UpgradeResult = PlannedRun[UpgradePlan]


def upgrade_cluster(
    options: UpgradeOptions,
    *,
    cluster: str | None = None,
    check: bool = False,
    verbose: bool = False,
    hooks: Hooks | None = None,
) -> UpgradeResult:
    """Upgrade every node that is not at the release yet. Raises UsageError / SpecError
    before any host is touched; PlaybookFailed when a node fails (the nodes after it
    were not touched; re-running resumes, since nodes at the release are skipped)."""
    hooks = hooks or Hooks()
    _check_flags(options)
    state, inventory, loaded = open_cluster(cluster)
    name = state.name
    extra = _release_vars(options, state, loaded)
    if extra["cluster_k3s_source"] == "airgap":
        release.check_airgap(Path(extra["cluster_k3s_airgap_dir"]), loaded.hostvars)
    hooks.step(f"reading the versions of cluster {name}'s nodes")
    report = status.gather(loaded, state, inventory)
    plan = plan_upgrade(state, report, extra["cluster_k3s_version"], options)
    plan.channel, plan.source = options.k3s_channel, extra["cluster_k3s_source"]
    hooks.on_nodes_plan(plan)
    for note in plan.notes:
        hooks.warn(note)
    if check:
        return UpgradeResult(plan)
    extra |= _pace_vars(options)
    title = f"upgrade to {plan.version} ({len(plan.to_upgrade)} of {len(plan.nodes)} nodes)"
    result, started = run_on_cluster(
        PLAYBOOK, inventory, extra, title=title, verbose=verbose, hooks=hooks
    )
    written = remember_run("upgrade", inventory, loaded, extra, result, started=started)
    result.raise_for_status()
    return UpgradeResult(plan, result, written)


def _pace_vars(options: UpgradeOptions) -> dict[str, Any]:
    """How fast the playbook goes: agents per batch, and drain's patience."""
    return {
        "upgrade_max_unavailable": options.max_unavailable,
        "k3s_maintenance_drain_timeout": options.timeout,
        "k3s_maintenance_drain_force": options.force,
    }


def _check_flags(options: UpgradeOptions) -> None:
    if bool(options.k3s_version) == bool(options.k3s_channel):
        raise UsageError(
            "Name the release: exactly one of --k3s-version and --k3s-channel.",
            hint="e.g. pi-k8s upgrade --k3s-version v1.31.5+k3s1 (see pi-k8s status for now).",
        )
    if options.k3s_version:
        release.check_version(options.k3s_version)
    if options.k3s_channel:
        release.check_channel(options.k3s_channel)
    if options.airgap is not None and options.mirror:
        raise UsageError(
            "--airgap and --mirror exclude each other.",
            hint="Install from a local directory with --airgap, or from a URL with --mirror.",
        )
    if options.mirror:
        release.check_mirror(options.mirror)
    if options.airgap is not None:
        release.check_airgap_dir(options.airgap)
    for flag, value in (
        ("--max-unavailable", options.max_unavailable),
        ("--timeout", options.timeout),
    ):
        if value < 1:
            raise UsageError(f"{flag} {value} must be at least 1.", hint=f"e.g. {flag} 1")


def _release_vars(
    options: UpgradeOptions, state: clusters.ClusterState, loaded: ansible_vars.AnsibleInventory
) -> dict[str, Any]:
    """The playbook's release variables: the version (a channel resolved now), and the
    source: the flags', else the one cluster.json recorded."""
    if options.airgap is not None:
        source, location = "airgap", str(options.airgap.resolve())
    elif options.mirror:
        source, location = "mirror", options.mirror
    else:
        source, location = state.k3s.source, state.k3s.location
        if source == "airgap" and options.k3s_version and state.k3s.version != options.k3s_version:
            raise UsageError(
                f"cluster {state.name!r} was installed from the airgap directory {location}, "
                f"which holds {state.k3s.version or 'its current release'}, "
                f"not {options.k3s_version}.",
                hint="Pass --airgap DIR with the new release's files (k3s binaries and "
                "sha256sum-<arch>.txt).",
            )
    if source in ("airgap", "mirror") and not location:
        raise SpecError(
            f"cluster {state.name!r} was installed from {source}, and cluster.json does not say "
            "where.",
            hint="Pass --airgap DIR or --mirror URL.",
        )
    version = options.k3s_version
    if options.k3s_channel:
        hv = next(iter(loaded.hostvars.values()), {})
        url = str(hv.get("k3s_install_channel_url") or k3s_versions.CHANNEL_URL)
        version = k3s_versions.resolve_channel(options.k3s_channel, url)
    extra: dict[str, Any] = {
        "cluster_k3s_version": version,
        # The channel is recorded with the version it resolved to; a pinned version follows none.
        "cluster_k3s_channel": options.k3s_channel or "",
        "cluster_k3s_source": source,
    }
    if source == "airgap":
        extra["cluster_k3s_airgap_dir"] = location
    elif source == "mirror":
        extra["cluster_k3s_mirror_url"] = location
    return extra


def plan_upgrade(
    state: clusters.ClusterState, report: status.StatusReport, version: str, options: UpgradeOptions
) -> UpgradePlan:
    """Per member (servers first, in join order): its version now and after. UsageError
    when the API cannot list the nodes, a member is not a Ready node, or a node's move is
    a downgrade or skips a minor release."""
    if report.api.node_list_error or not any(r.ready is not None for r in report.nodes):
        raise UsageError(
            f"Cannot read cluster {state.name!r}'s nodes: "
            f"{report.api.node_list_error or 'no server answered'}.",
            hint="Every node must be up to upgrade; see `pi-k8s status`.",
        )
    rows = {r.hostname: r for r in report.nodes}
    members = sorted(state.members, key=lambda m: (m.role != "server", m.order))
    nodes, problems = [], []
    for m in members:
        row = rows.get(m.hostname)
        now = row.k3s_version if row else None
        if row is None or row.ready != "True" or not now:
            why = row.error or f"Ready={row.ready}" if row else "not in the inventory"
            problems.append(f"{m.hostname} is not a Ready node ({why})")
            continue
        why_not = k3s_versions.skew_problem(now, version)
        if why_not:
            problems.append(f"{m.hostname}: {why_not}")
            continue
        action = "skip" if now == version else "upgrade"
        nodes.append(NodeUpgrade(m.hostname, m.role, now, version, action))
    if problems:
        raise UsageError(
            "Cannot upgrade: " + "; ".join(problems) + ". Nothing was changed.",
            hint="Bring every node up (or retire it: pi-k8s nodes remove --unreachable), and "
            "move one minor release at a time, never back.",
        )
    notes = (
        [] if any(n.action == "upgrade" for n in nodes) else [f"every node runs {version} already."]
    )
    return UpgradePlan(
        cluster=state.name,
        version=version,
        channel=None,
        source=state.k3s.source,
        nodes=nodes,
        max_unavailable=options.max_unavailable,
        notes=notes,
    )
