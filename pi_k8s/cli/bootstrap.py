"""`pi-k8s bootstrap`: prepare the Pis, install k3s, fetch the kubeconfig, verify."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from pi_k8s import console
from pi_k8s import operations as ops
from pi_k8s.cli._common import console_hooks, handles_errors
from pi_k8s.cli._options import (
    CheckOpt,
    FromOpt,
    LimitOpt,
    SkipWorkloadsOpt,
    SubnetOpt,
    VerboseOpt,
)
from pi_k8s.errors import UsageError


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
    from_file: FromOpt = None,
    subnet: SubnetOpt = None,
    check: CheckOpt = False,
    limit: LimitOpt = None,
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
    skip_workloads: SkipWorkloadsOpt = False,
    verbose: VerboseOpt = False,
    syntax_check: Annotated[
        bool,
        typer.Option("--syntax-check", help="Only check the playbook's syntax; touch no host."),
    ] = False,
) -> None:
    """Prepare the Pis, install k3s servers and agents, fetch the kubeconfig, verify."""
    if syntax_check:
        result = ops.check_syntax(inventory)
        console.info(f"syntax ok: {ops.playbook_path()} ({result.status})")
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
    result = ops.run_bootstrap(
        inventory=inventory,
        spec=spec,
        from_file=from_file,
        subnets=subnet or [],
        options=options,
        hooks=console_hooks(verbose=verbose),
    )
    if check:
        console.check_plan(result.run)


def register(app: typer.Typer) -> None:
    app.command("bootstrap")(bootstrap)
