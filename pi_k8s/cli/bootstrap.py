"""`pi-k8s bootstrap`: prepare the Pis, install k3s, fetch the kubeconfig, verify."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from pi_k8s import console
from pi_k8s import operations as ops
from pi_k8s.cli._common import become, console_hooks, handles_errors, progress_hooks
from pi_k8s.cli._options import (
    AirgapOpt,
    AskBecomePassOpt,
    CheckOpt,
    ClusterOpt,
    FastOpt,
    FromOpt,
    InventoryOpt,
    JsonOpt,
    K3sChannelOpt,
    K3sVersionOpt,
    LimitOpt,
    MirrorOpt,
    SkipWorkloadsOpt,
    SubnetOpt,
    VerboseOpt,
)
from pi_k8s.errors import UsageError


@handles_errors
def bootstrap(
    cluster: ClusterOpt = None,
    inventory: InventoryOpt = None,
    spec: Annotated[
        Path | None,
        typer.Option("--spec", help="cluster.yaml: render the inventory from it first."),
    ] = None,
    from_file: FromOpt = None,
    subnet: SubnetOpt = None,
    check: CheckOpt = False,
    limit: LimitOpt = None,
    k3s_version: K3sVersionOpt = None,
    k3s_channel: K3sChannelOpt = None,
    airgap: AirgapOpt = None,
    mirror: MirrorOpt = None,
    merge_kubeconfig: Annotated[
        bool, typer.Option("--merge-kubeconfig", help="Also merge into ~/.kube/config.")
    ] = False,
    verify: Annotated[
        bool, typer.Option("--verify/--no-verify", help="Run `pi-k8s verify` at the end.")
    ] = True,
    skip_workloads: SkipWorkloadsOpt = False,
    verbose: VerboseOpt = False,
    syntax_check: Annotated[
        bool,
        typer.Option("--syntax-check", help="Only check the playbook's syntax; touch no host."),
    ] = False,
    as_json: JsonOpt = False,
    ask_become_pass: AskBecomePassOpt = False,
    fast: FastOpt = False,
) -> None:
    """Prepare the Pis, install k3s servers and agents, fetch the kubeconfig, verify."""
    if syntax_check:
        result = ops.check_syntax(inventory)
        console.info(f"syntax ok: {ops.playbook_path()} ({result.status})")
        return
    if spec is not None and (inventory is not None or cluster):
        raise UsageError(
            "--spec renders the inventory: it excludes --inventory and --cluster.",
            hint="Pass --spec cluster.yaml, or --inventory FILE, or --cluster NAME.",
        )
    nothing_named = spec is None and inventory is None and not cluster
    if nothing_named and not ops.list_clusters() and not ops.DEFAULT_INVENTORY.is_file():
        raise UsageError(
            "Nothing to bootstrap: pass --spec cluster.yaml, --inventory FILE or --cluster NAME.",
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
    if ask_become_pass and verify and not check:
        # verify reads the hosts through testinfra's sudo, which cannot answer a prompt.
        console.warn(
            "-K: the verification at the end is skipped (it runs sudo without a password); "
            "check the cluster with kubectl."
        )
        verify = False
    options = ops.BootstrapOptions(
        check=check,
        limit=limit,
        k3s_version=k3s_version,
        k3s_channel=k3s_channel,
        airgap=airgap,
        mirror=mirror,
        merge_kubeconfig=merge_kubeconfig,
        verify=verify,
        workloads=not skip_workloads,
        verbose=verbose,
    )
    with ops.fast_strategy(fast), become(ask_become_pass):
        result = ops.run_bootstrap(
            inventory=None if spec is not None else ops.target_inventory(cluster, inventory),
            spec=spec,
            from_file=from_file,
            subnets=subnet or [],
            options=options,
            hooks=progress_hooks(verbose=verbose) if as_json else console_hooks(verbose=verbose),
        )
    if as_json:
        console.print_json(
            {
                "inventory": str(result.inventory),
                "check": check,
                "run": result.run.to_dict(),
                "verify": result.report.to_dict() if result.report else None,
            },
            schema="bootstrap",
        )
    elif check:
        console.check_plan(result.run)


def register(app: typer.Typer) -> None:
    app.command("bootstrap")(bootstrap)
