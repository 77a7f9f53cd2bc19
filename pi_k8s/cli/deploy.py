"""`pi-k8s deploy`: put the workloads of a spec on the cluster, validated first."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from pi_k8s import console
from pi_k8s import deploy as d
from pi_k8s.cli._common import handles_errors
from pi_k8s.errors import VerificationFailed

_ACTION_TEXT = {
    "added": "added",
    "changed": "changed",
    "unchanged": "unchanged",
    "removed": "removed (resources deleted)",
    "stale": "not in the spec (kept; --prune deletes it)",
}
_CHECK_TEXT = {
    "added": "would be added",
    "changed": "would change",
    "unchanged": "unchanged",
    "removed": "would be removed (resources deleted)",
    "stale": "not in the spec (would be kept; --prune deletes it)",
}


def _render_changes(result: d.DeployResult) -> None:
    texts = _CHECK_TEXT if result.check else _ACTION_TEXT
    console.table(
        "workloads (check: nothing was changed)" if result.check else "workloads",
        ["workload", "file", "result", "servers"],
        ((c.name, c.filename, texts[c.action], ", ".join(c.hosts)) for c in result.changes),
    )
    if result.check:
        for c in result.changes:
            if c.diff and c.action != "stale":
                console.out.print(c.diff.rstrip("\n"), markup=False, highlight=False)
    for c in result.stale:
        console.warn(
            f"{c.filename} on {', '.join(c.hosts)} is no longer in the spec; its resources "
            "stay on the cluster. Run deploy with --prune to delete them."
        )


def _render_wait(result: d.WaitResult) -> None:
    console.table(
        "rollouts",
        ["workload", "object", "state", "detail"],
        ((s.target.workload, s.target.label, s.state, s.detail) for s in result.statuses),
    )


@handles_errors
def deploy(
    spec: Annotated[
        Path, typer.Option("--spec", "-s", help="The workloads spec (see examples/).")
    ] = Path("workloads.yaml"),
    inventory: Annotated[
        Path, typer.Option("--inventory", "-i", help="The cluster's Ansible inventory.")
    ] = Path("inventory/hosts.yml"),
    check: Annotated[
        bool,
        typer.Option(
            "--check", help="Show what would be added, changed or removed; change nothing."
        ),
    ] = False,
    prune: Annotated[
        bool,
        typer.Option(
            "--prune", help="Delete the workloads pi-k8s deployed that the spec no longer has."
        ),
    ] = False,
    wait: Annotated[
        bool,
        typer.Option(
            "--wait/--no-wait",
            help="Wait for Deployments, DaemonSets, StatefulSets, Helm installs.",
        ),
    ] = True,
    timeout: Annotated[
        float, typer.Option("--timeout", min=1, help="Seconds --wait waits at most.")
    ] = 300,
    var: Annotated[
        list[str] | None,
        typer.Option("--var", help="NAME=VALUE for the .j2 templates (repeatable)."),
    ] = None,
) -> None:
    """Validate the workloads, place them on every server (k3s applies them), wait for rollouts."""
    rendered = d.prepare(spec, inventory, var)
    for warning in rendered.warnings:
        console.warn(warning)
    console.step(
        f"{len(rendered.workloads)} workload(s) valid in {spec}: {', '.join(rendered.names())}"
    )
    with console.PlaybookProgress("deploy" + (" (check)" if check else "")) as progress:
        result = d.apply(rendered, inventory, check=check, prune=prune, on_event=progress)
    console.run_summary(result.run)
    _render_changes(result)
    if check or not wait:
        return
    console.step(f"waiting up to {timeout:.0f}s for rollouts (k3s kubectl on the first server)")
    waited = d.wait(
        rendered,
        d.kubectl_on_first_server(inventory),
        timeout=timeout,
        on_poll=lambda statuses: console.step(
            ", ".join(f"{s.target.workload}: {s.state}" for s in statuses)
        ),
    )
    if not waited.statuses:
        console.info("nothing to wait for: no Deployment, DaemonSet, StatefulSet or HelmChart")
        return
    _render_wait(waited)
    if not waited.ok:
        bad = [s for s in waited.statuses if s.state != "ready"]
        raise VerificationFailed(
            ("Timed out: " if waited.timed_out else "")
            + "; ".join(f"{s.target.workload} {s.target.label}: {s.detail}" for s in bad),
            hint="Inspect with `k3s kubectl describe` on a server; the files are in place "
            "and k3s keeps applying them.",
        )


def register(app: typer.Typer) -> None:
    app.command("deploy")(deploy)
