"""`pi-k8s verify`: prove the cluster is healthy, and say what is wrong when it is not."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from pi_k8s import console, paths
from pi_k8s import verify as v
from pi_k8s.cli._common import handles_errors
from pi_k8s.errors import VerificationFailed

InventoryOpt = Annotated[
    Path, typer.Option("--inventory", "-i", help="The cluster's Ansible inventory.")
]


def run_verify(
    inventory: Path,
    *,
    as_json: bool = False,
    junit: Path | None = None,
    workloads: bool = True,
    min_free_mb: int = v.DEFAULT_MIN_FREE_MB,
    version: str | None = None,
    dns_image: str | None = v.DNS_SMOKE_IMAGE,
    dns_why_not: str = "",
) -> v.VerifyReport:
    """Run the checks, render them, write JUnit; raise VerificationFailed on a failure.

    ``version``: the k3s release to expect (``None``: the inventory's, ``""``: any one).
    """
    if junit is not None:  # before any host is contacted
        paths.check_output_file(junit, "--junit")
    if not as_json:
        console.step(f"verifying the hosts of {inventory}")
    report = v.verify(
        inventory,
        workloads=workloads,
        min_free_mb=min_free_mb,
        on_host_done=None if as_json else (lambda h: console.step(f"{h}: checked")),
        version=version,
        dns_image=dns_image,
        dns_why_not=dns_why_not,
    )
    if as_json:
        console.print_json(report.to_dict())
    else:
        console.verify_report(report)
    if junit is not None:
        paths.write_atomic(junit, v.to_junit(report))
    if not report.ok:
        names = sorted({f"{r.host}: {r.name}" for r in report.failed})
        raise VerificationFailed(
            f"{len(report.failed)} check(s) failed: "
            + "; ".join(names[:6])
            + (" …" if len(names) > 6 else ""),
            hint="Each failure above says its likely cause and fix.",
        )
    return report


@handles_errors
def verify(
    inventory: InventoryOpt = Path("inventory/hosts.yml"),
    as_json: Annotated[bool, typer.Option("--json", help="Print results as JSON.")] = False,
    junit: Annotated[
        Path | None, typer.Option("--junit", help="Also write a JUnit XML report here.")
    ] = None,
    skip_workloads: Annotated[
        bool,
        typer.Option(
            "--skip-workloads",
            help="Skip the kube-system pods and DNS smoke checks (where no images can be pulled).",
        ),
    ] = False,
    min_free_mb: Annotated[
        int, typer.Option("--min-free-mb", min=0, help="Free space wanted on /var/lib/rancher.")
    ] = v.DEFAULT_MIN_FREE_MB,
) -> None:
    """Check every host and the cluster; exit 5 if any check fails."""
    run_verify(
        inventory,
        as_json=as_json,
        junit=junit,
        workloads=not skip_workloads,
        min_free_mb=min_free_mb,
    )


def register(app: typer.Typer) -> None:
    app.command("verify")(verify)
