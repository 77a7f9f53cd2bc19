"""`pi-k8s nodes add|remove`: grow or shrink a cluster pi-k8s remembers."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from pi_k8s import console
from pi_k8s import operations as ops
from pi_k8s.cli._common import Day2Output, day2_command, handles_errors
from pi_k8s.cli._options import (
    ClusterOpt,
    DrainTimeoutOpt,
    FromOpt,
    SubnetOpt,
)

app = typer.Typer(help="Add Pis to a cluster, or retire them.", no_args_is_help=True)

RoleOpt = Annotated[
    str, typer.Option("--role", help="agent or server (servers keep an odd count).")
]
AllowEvenOpt = Annotated[
    bool,
    typer.Option("--allow-even", help="Accept an even number of servers (no added tolerance)."),
]


def _show_add_plan(plan: Any) -> None:
    console.table(
        f"cluster {plan.cluster}: nodes to add",
        ["host", "ip", "role", "board"],
        ((str(h.hostname), h.ip, role, h.model or "-") for h, role in plan.new),
    )
    console.info(f"servers: {plan.servers_before} → {plan.servers_after}")
    for note in plan.notes:
        console.info(note)


@app.command("add")
@handles_errors
@day2_command("nodes-add")
def add(
    hosts: Annotated[
        list[str] | None,
        typer.Argument(help="The new Pis: hostname, IP or MAC (default: every new Pi found)."),
    ] = None,
    cluster: ClusterOpt = None,
    role: RoleOpt = "agent",
    allow_even: AllowEvenOpt = False,
    from_file: FromOpt = None,
    subnet: SubnetOpt = None,
    *,
    out: Day2Output,
) -> None:
    """Prepare new Pis and join them; the members are left as they are (changed=0)."""
    hooks = out.hooks(_show_add_plan)
    result = ops.add_nodes(
        hosts or [],
        cluster=cluster,
        role=role,
        from_file=from_file,
        subnets=subnet or [],
        allow_even=allow_even,
        check=out.check,
        verbose=out.verbose,
        hooks=hooks,
    )
    out.finish(result, f"added {len(result.plan.new)} node(s)")


def _show_remove_plan(plan: Any) -> None:
    console.table(
        f"cluster {plan.cluster}: nodes to remove",
        ["host", "role"],
        ((m.hostname, m.role) for m in plan.nodes),
    )
    console.info(f"servers: {plan.servers_before} → {plan.servers_after}")


@app.command("remove")
@handles_errors
@day2_command("nodes-remove")
def _remove(
    nodes: Annotated[list[str], typer.Argument(help="The members to retire (hostnames).")],
    cluster: ClusterOpt = None,
    force: Annotated[
        bool,
        typer.Option(
            "--force",
            help="Leave an even number of servers; drain also deletes pods no controller manages.",
        ),
    ] = False,
    unreachable: Annotated[
        bool,
        typer.Option(
            "--unreachable",
            help="The Pi is gone: delete its Node and etcd member, do not touch the host.",
        ),
    ] = False,
    timeout: DrainTimeoutOpt = 300,
    *,
    out: Day2Output,
) -> None:
    """Cordon, drain, stop k3s, delete the Node (and etcd member), uninstall, revert the host."""
    hooks = out.hooks(_show_remove_plan)
    how = ops.Removal(force=force, unreachable=unreachable, timeout=timeout)
    result = ops.remove_nodes(
        nodes, how, cluster=cluster, check=out.check, verbose=out.verbose, hooks=hooks
    )
    out.finish(result, f"removed {len(result.plan.nodes)} node(s)")


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="nodes")
