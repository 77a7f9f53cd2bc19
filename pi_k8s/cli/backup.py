"""`pi-k8s backup [list]` and `pi-k8s restore`: the datastore, kept on this machine."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from pi_k8s import console
from pi_k8s import operations as ops
from pi_k8s.cli._common import (
    Day2Output,
    become,
    console_hooks,
    day2_command,
    handles_errors,
    progress_hooks,
)
from pi_k8s.cli._options import (
    AskBecomePassOpt,
    ClusterOpt,
    FastOpt,
    JsonOpt,
    VerboseOpt,
    YesOpt,
)
from pi_k8s.errors import UsageError

app = typer.Typer(
    help="Snapshot the cluster's datastore to this machine, or list the snapshots.",
    invoke_without_command=True,
)


@app.callback()
@handles_errors
def backup(
    ctx: typer.Context,
    cluster: ClusterOpt = None,
    keep: Annotated[
        int | None,
        typer.Option("--keep", help="Then keep only the N newest backups of the cluster."),
    ] = None,
    verbose: VerboseOpt = False,
    as_json: JsonOpt = False,
    ask_become_pass: AskBecomePassOpt = False,
    fast: FastOpt = False,
) -> None:
    """Snapshot the datastore (etcd snapshot, or SQLite's server/db) with the token."""
    if ctx.invoked_subcommand:
        return
    hooks = progress_hooks(verbose=verbose) if as_json else console_hooks(verbose=verbose)
    with ops.fast_strategy(fast), become(ask_become_pass):
        result = ops.run_backup(cluster=cluster, keep=keep, verbose=verbose, hooks=hooks)
    if as_json:
        console.print_json(
            {
                "cluster": result.cluster,
                "backup": result.backup.to_dict(),
                "pruned": result.pruned,
                "state": str(result.state) if result.state else None,
            },
            schema="backup",
        )
        return
    b = result.backup
    console.info(f"backup {b.name} ({b.datastore}, {b.size} bytes, sha256 {b.sha256})")
    console.info(f"kept in {b.directory} with the token (0600)")
    if result.pruned:
        console.info(f"--keep {keep}: removed {', '.join(result.pruned)}")


@app.command("list")
@handles_errors
def _list(cluster: ClusterOpt = None, as_json: JsonOpt = False) -> None:
    """The cluster's backups on this machine, oldest first."""
    name, found = ops.list_backups(cluster)
    if as_json:
        console.print_json(
            {"cluster": name, "backups": [b.to_dict() for b in found]}, schema="backup-list"
        )
        return
    console.table(
        f"cluster {name}: backups",
        ["name", "datastore", "server", "created", "size", "sha256"],
        ((b.name, b.datastore, b.server, b.created, b.size, b.sha256[:12]) for b in found),
    )


def _show_plan(plan: Any) -> None:
    b = plan.backup
    console.info(f"cluster {plan.cluster}: restore {b.name} ({b.datastore}, taken {b.created})")
    for number, step in enumerate(plan.steps, 1):
        console.info(f"  {number}. {step}")


@handles_errors
@day2_command("restore")
def restore(
    snapshot: Annotated[
        str, typer.Argument(help="A backup's name (see `pi-k8s backup list`) or directory.")
    ],
    cluster: ClusterOpt = None,
    yes: YesOpt = False,
    *,
    out: Day2Output,
) -> None:
    """Stop k3s, restore the snapshot on the first server, rejoin the others, restart agents."""
    plan = ops.plan_restore(snapshot, cluster=cluster)
    if not yes and not out.check:
        if not console.can_ask():
            raise UsageError(
                f"pi-k8s restore stops k3s on every server of cluster {plan.cluster} and "
                f"replaces its datastore with {plan.backup.name}; without a terminal to "
                "confirm it needs --yes.",
                hint=f"Re-run with --yes: pi-k8s restore {snapshot} --yes",
            )
        _show_plan(plan)
        if not console.confirm(f"Restore {plan.backup.name}? The changes since are lost."):
            console.info("Nothing was restored.")
            return
    if out.check and not out.as_json:
        _show_plan(plan)
    result = ops.run_restore(plan, check=out.check, verbose=out.verbose, hooks=out.hooks())
    out.finish(result, f"restored {plan.backup.name}")


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="backup")
    root.command("restore")(restore)
