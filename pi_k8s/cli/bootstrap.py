"""`pi-k8s bootstrap`: prepare the Pis, install k3s, fetch the kubeconfig, verify."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from pi_k8s import console, paths, release, runner
from pi_k8s.cli._common import handles_errors
from pi_k8s.errors import UsageError


def _inventory_from_spec(spec_path: Path, from_file: Path | None, subnets: list[str]) -> Path:
    """Render the spec's inventory into the cluster's state dir and return its path."""
    from pi_k8s.cli import inventory as inventory_cli
    from pi_k8s.spec import load_spec

    if from_file is None and not subnets:
        raise UsageError(
            "--spec needs hosts: pass --from discovery.json or --subnet CIDR to discover.",
            hint="e.g. pi-k8s bootstrap --spec cluster.yaml --subnet 192.168.1.0/24",
        )
    name = load_spec(spec_path).name
    out = paths.ensure_private_dir(paths.state_dir() / "clusters" / name) / "hosts.yml"
    return inventory_cli.render(
        spec_path, from_file=from_file, discover=from_file is None, subnets=subnets, output=out
    )


def _extravars(
    *,
    k3s_version: str | None,
    k3s_channel: str | None,
    airgap: Path | None,
    mirror: str | None,
    merge_kubeconfig: bool,
) -> dict[str, Any]:
    """Command-line choices → the playbook's documented variables (no secrets here:
    ansible-runner writes extravars into its artifacts)."""
    extra: dict[str, Any] = {}
    if k3s_version:
        extra["cluster_k3s_version"] = k3s_version
    if k3s_channel:
        extra["cluster_k3s_channel"] = k3s_channel
        extra["cluster_k3s_version"] = ""
    if airgap is not None:
        extra["cluster_k3s_source"] = "airgap"
        extra["cluster_k3s_airgap_dir"] = str(airgap.resolve())
    if mirror:
        extra["cluster_k3s_source"] = "mirror"
        extra["cluster_k3s_mirror_url"] = mirror.rstrip("/")
    if merge_kubeconfig:
        extra["k3s_kubeconfig_merge"] = True
    return extra


@handles_errors
def bootstrap(
    inventory: Annotated[
        Path | None,
        typer.Option("--inventory", "-i", help="Ansible inventory (hand-written or generated)."),
    ] = None,
    spec: Annotated[
        Path | None,
        typer.Option("--spec", help="cluster.yaml: render the inventory from it first."),
    ] = None,
    from_file: Annotated[
        Path | None,
        typer.Option("--from", help="With --spec: hosts from `pi-k8s discover --json`."),
    ] = None,
    subnet: Annotated[
        list[str] | None,
        typer.Option("--subnet", help="With --spec: discover hosts on this subnet (repeatable)."),
    ] = None,
    check: Annotated[
        bool, typer.Option("--check", help="Dry run: print what would change on each node.")
    ] = False,
    limit: Annotated[
        str | None, typer.Option("--limit", help="Only these hosts (Ansible pattern).")
    ] = None,
    k3s_version: Annotated[
        str | None,
        typer.Option("--k3s-version", help="Pin a release: v1.NN.N+k3sN, e.g. v1.31.4+k3s1."),
    ] = None,
    k3s_channel: Annotated[
        str | None, typer.Option("--k3s-channel", help="stable, latest, testing or v1.NN.")
    ] = None,
    airgap: Annotated[
        Path | None,
        typer.Option(
            "--airgap",
            help="Directory with each inventory arch's k3s binary (k3s, k3s-arm64, "
            "k3s-armhf) and its line in sha256sum-<arch>.txt.",
        ),
    ] = None,
    mirror: Annotated[
        str | None,
        typer.Option("--mirror", help="http(s) URL laid out like the k3s release assets."),
    ] = None,
    merge_kubeconfig: Annotated[
        bool, typer.Option("--merge-kubeconfig", help="Also merge into ~/.kube/config.")
    ] = False,
    verify: Annotated[
        bool, typer.Option("--verify/--no-verify", help="Run `pi-k8s verify` at the end.")
    ] = True,
    skip_workloads: Annotated[
        bool,
        typer.Option("--skip-workloads", help="verify: skip the pods and DNS smoke checks."),
    ] = False,
    verbose: Annotated[
        bool, typer.Option("--verbose", "-v", help="Stream Ansible's own output.")
    ] = False,
    syntax_check: Annotated[
        bool,
        typer.Option("--syntax-check", help="Only check the playbook's syntax; touch no host."),
    ] = False,
) -> None:
    """Prepare the Pis, install k3s servers and agents, fetch the kubeconfig, verify."""
    if syntax_check:
        result = runner.run_playbook(
            "site.yml", inventory=inventory, syntax_check=True
        ).raise_for_status()
        console.info(f"syntax ok: {paths.playbook('site.yml')} ({result.status})")
        return
    if (inventory is None) == (spec is None):
        raise UsageError(
            "Pass exactly one of --inventory FILE or --spec cluster.yaml.",
            hint="Make an inventory with `pi-k8s inventory`, or let --spec do it.",
        )
    if k3s_version and k3s_channel:
        raise UsageError(
            "--k3s-version and --k3s-channel exclude each other.",
            hint="Pin a release with --k3s-version, or follow a channel with --k3s-channel.",
        )
    if airgap and mirror:
        raise UsageError(
            "--airgap and --mirror exclude each other.",
            hint="Install from a local directory with --airgap, or from a URL with --mirror.",
        )
    if spec is None and (from_file or subnet):
        raise UsageError(
            "--from and --subnet only go with --spec.",
            hint="With --inventory the hosts are the inventory's; drop --from and --subnet.",
        )
    # The flags' forms, before discovery, inventory or Ansible.
    if k3s_version:
        release.check_version(k3s_version)
    if k3s_channel:
        release.check_channel(k3s_channel)
    if mirror:
        release.check_mirror(mirror)
    if airgap is not None:
        release.check_airgap_dir(airgap)
    extra = _extravars(
        k3s_version=k3s_version,
        k3s_channel=k3s_channel,
        airgap=airgap,
        mirror=mirror,
        merge_kubeconfig=merge_kubeconfig,
    )
    if spec is not None:
        inventory = _inventory_from_spec(spec, from_file, subnet or [])
    assert inventory is not None
    # What the inventory asks for, still before Ansible.
    hostvars = release.inventory_hostvars(inventory)
    release.refuse_unsupported(inventory, hostvars)
    release.refuse_config_tokens(inventory, hostvars)
    if airgap is not None:
        release.check_airgap(airgap, hostvars)
    title = "bootstrap (check mode)" if check else "bootstrap"
    with console.PlaybookProgress(title, verbose=verbose) as progress:
        result = runner.run_playbook(
            "site.yml",
            inventory=inventory,
            extravars=extra,
            limit=limit,
            check=check,
            on_event=progress,
            verbosity=1 if verbose else 0,
        )
    console.run_summary(result)
    result.raise_for_status()
    if check:
        console.check_plan(result)
        return
    console.info(f"artifacts: {result.artifacts}")
    if verify:
        from pi_k8s.cli.verify import run_verify
        from pi_k8s.verify import DNS_SMOKE_IMAGE

        # verify expects what this run installed: --k3s-version's release, none in
        # particular after --k3s-channel (the channel chose it), else the inventory's.
        expect = k3s_version if k3s_version else ("" if k3s_channel else None)
        # An offline LAN cannot pull busybox: with --airgap the DNS smoke test runs the
        # busybox image the release's airgap archive carries, or is skipped with a warning.
        dns_image, dns_why_not = (
            release.airgap_dns_image(airgap) if airgap is not None else (DNS_SMOKE_IMAGE, "")
        )
        run_verify(
            inventory,
            workloads=not skip_workloads,
            version=expect,
            dns_image=dns_image,
            dns_why_not=dns_why_not,
        )


def register(app: typer.Typer) -> None:
    app.command("bootstrap")(bootstrap)
