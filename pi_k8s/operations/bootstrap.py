"""Prepare the Pis, install k3s, fetch the kubeconfig, verify: the job of `pi-k8s bootstrap`.

The order is the contract: the flags' forms, then the inventory (rendered from a spec when
one is given), then what the inventory asks for, all before Ansible touches a host; then
``site.yml``; then verify, expecting what this run installed.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pi_k8s import ansible_vars, clusters, lb, paths, release, runner, vip
from pi_k8s.clusters import check_membership
from pi_k8s.errors import UsageError
from pi_k8s.operations.clusters import previous_state, remember_run, run_on_cluster
from pi_k8s.operations.hooks import Hooks
from pi_k8s.operations.inventory import cluster_name, render_inventory
from pi_k8s.operations.verify import DNS_SMOKE_IMAGE, run_verify
from pi_k8s.runner import RunResult
from pi_k8s.verify import VerifyReport

PLAYBOOK = "site.yml"


@dataclass
class BootstrapOptions:
    """What to install and how; the defaults install the inventory's k3s and verify."""

    check: bool = False  # dry run: report what would change
    limit: str | None = None  # only these hosts (Ansible pattern)
    k3s_version: str | None = None  # a release tag, v1.NN.N+k3sN
    k3s_channel: str | None = None  # stable, latest, testing or v1.NN
    airgap: Path | None = None  # directory with the release's binaries and checksums
    mirror: str | None = None  # http(s) URL laid out like the release assets
    merge_kubeconfig: bool = False  # also merge into ~/.kube/config
    verify: bool = True  # run verify at the end
    workloads: bool = True  # verify: the kube-system pods and DNS smoke checks
    verbose: bool = False  # stream Ansible's own output


@dataclass
class BootstrapResult:
    inventory: Path
    run: RunResult
    report: VerifyReport | None = None  # None: check mode, or verify not asked for


def check_syntax(inventory: Path | None = None) -> RunResult:
    """``ansible-playbook --syntax-check site.yml``; raise PlaybookFailed when it fails."""
    return runner.run_playbook(PLAYBOOK, inventory=inventory, syntax_check=True).raise_for_status()


def playbook_path() -> Path:
    """Where the bootstrap playbook lives."""
    return paths.playbook(PLAYBOOK)


def inventory_from_spec(
    spec_path: Path, from_file: Path | None, subnets: list[str], hooks: Hooks
) -> Path:
    """Render the spec's inventory into the cluster's state dir and return its path."""
    if from_file is None and not subnets:
        raise UsageError(
            "--spec needs hosts: pass --from discovery.json or --subnet CIDR to discover.",
            hint="e.g. pi-k8s bootstrap --spec cluster.yaml --subnet 192.168.1.0/24",
        )
    name = cluster_name(spec_path)
    out = paths.ensure_private_dir(paths.state_dir() / "clusters" / name) / "hosts.yml"
    return render_inventory(
        spec_path,
        from_file=from_file,
        discover=from_file is None,
        subnets=subnets,
        output=out,
        hooks=hooks,
    ).path


def extravars(options: BootstrapOptions) -> dict[str, Any]:
    """Command-line choices → the playbook's documented variables (no secrets here:
    ansible-runner writes extravars into its artifacts)."""
    extra: dict[str, Any] = {}
    if options.k3s_version:
        extra["cluster_k3s_version"] = options.k3s_version
    if options.k3s_channel:
        extra["cluster_k3s_channel"] = options.k3s_channel
        extra["cluster_k3s_version"] = ""
    if options.airgap is not None:
        extra["cluster_k3s_source"] = "airgap"
        extra["cluster_k3s_airgap_dir"] = str(options.airgap.resolve())
    if options.mirror:
        extra["cluster_k3s_source"] = "mirror"
        extra["cluster_k3s_mirror_url"] = options.mirror.rstrip("/")
    if options.merge_kubeconfig:
        extra["k3s_kubeconfig_merge"] = True
    return extra


def _followed_release(
    previous: clusters.ClusterState | None, options: BootstrapOptions, hooks: Hooks
) -> dict[str, Any]:
    """A cluster that follows a channel keeps the release it resolved to: a later bootstrap
    pins it (unless --k3s-version names one), so only `pi-k8s upgrade` moves it."""
    if previous is None or options.k3s_version:
        return {}
    k3s = previous.k3s
    if not (k3s.channel and k3s.version):
        return {}
    hooks.info(
        f"cluster {previous.name} follows channel {k3s.channel} and runs {k3s.version}: "
        f"bootstrap keeps it (`pi-k8s upgrade --k3s-channel {k3s.channel}` moves it)."
    )
    return {"cluster_k3s_version": k3s.version, "cluster_k3s_channel": k3s.channel}


def check_flags(options: BootstrapOptions) -> None:
    """UsageError when a flag's value has the wrong form (before any host is contacted)."""
    if options.k3s_version:
        release.check_version(options.k3s_version)
    if options.k3s_channel:
        release.check_channel(options.k3s_channel)
    if options.mirror:
        release.check_mirror(options.mirror)
    if options.airgap is not None:
        release.check_airgap_dir(options.airgap)


def run_bootstrap(
    *,
    inventory: Path | None = None,
    spec: Path | None = None,
    from_file: Path | None = None,
    subnets: list[str] | None = None,
    options: BootstrapOptions | None = None,
    hooks: Hooks | None = None,
) -> BootstrapResult:
    """Bootstrap the cluster of ``inventory``, or of the inventory rendered from ``spec``
    with hosts ``from_file`` or discovered on ``subnets``.

    Raises UsageError / SpecError before Ansible runs, PlaybookFailed when site.yml fails
    (after ``hooks.on_run`` saw the run), VerificationFailed when verify finds a failure.
    """
    options = options or BootstrapOptions()
    hooks = hooks or Hooks()
    check_flags(options)
    extra = extravars(options)
    if spec is not None:
        inventory = inventory_from_spec(spec, from_file, subnets or [], hooks)
    if inventory is None:
        raise UsageError(
            "Pass exactly one of --inventory FILE or --spec cluster.yaml.",
            hint="Make an inventory with `pi-k8s inventory`, or let --spec do it.",
        )
    # What the inventory asks for, still before Ansible.
    loaded = ansible_vars.load(inventory)
    hostvars = loaded.hostvars
    previous = previous_state(loaded)
    check_membership(previous, loaded, inventory)
    extra |= _followed_release(previous, options, hooks)
    api_vip = vip.check_inventory(inventory, hostvars)
    lb.check_inventory(inventory, hostvars, api_vip)
    release.refuse_config_tokens(inventory, hostvars)
    if options.airgap is not None:
        release.check_airgap(options.airgap, hostvars)
    title = "bootstrap (check mode)" if options.check else "bootstrap"
    result, started = run_on_cluster(
        PLAYBOOK,
        inventory,
        extra,
        title=title,
        verbose=options.verbose,
        hooks=hooks,
        limit=options.limit,
        check=options.check,
    )
    if not options.check:
        written = remember_run("bootstrap", inventory, loaded, extra, result, started=started)
        if written is not None and result.ok:
            hooks.info(f"cluster state: {written}")
    result.raise_for_status()
    if options.check:
        return BootstrapResult(inventory, result)
    hooks.info(f"artifacts: {result.artifacts}")
    if not options.verify:
        return BootstrapResult(inventory, result)
    # verify expects what this run installed: --k3s-version's release, none in
    # particular after --k3s-channel (the channel chose it), else the inventory's.
    expect = options.k3s_version if options.k3s_version else ("" if options.k3s_channel else None)
    # An offline LAN cannot pull busybox: with --airgap the DNS smoke test runs the
    # busybox image the release's airgap archive carries, or is skipped with a warning.
    dns_image, dns_why_not = (
        release.airgap_dns_image(options.airgap)
        if options.airgap is not None
        else (DNS_SMOKE_IMAGE, "")
    )
    report = run_verify(
        inventory,
        workloads=options.workloads,
        version=expect,
        dns_image=dns_image,
        dns_why_not=dns_why_not,
        hooks=hooks,
    )
    return BootstrapResult(inventory, result, report)
