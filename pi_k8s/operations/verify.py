"""Prove the cluster is healthy: the job of `pi-k8s verify` (and the end of bootstrap)."""

from __future__ import annotations

from pathlib import Path

from pi_k8s import paths
from pi_k8s import verify as v
from pi_k8s.errors import VerificationFailed
from pi_k8s.operations.hooks import Hooks
from pi_k8s.render.junit import to_junit

DEFAULT_MIN_FREE_MB = v.DEFAULT_MIN_FREE_MB
DNS_SMOKE_IMAGE = v.DNS_SMOKE_IMAGE


def run_verify(
    inventory: Path,
    *,
    junit: Path | None = None,
    workloads: bool = True,
    min_free_mb: int = DEFAULT_MIN_FREE_MB,
    version: str | None = None,
    dns_image: str | None = DNS_SMOKE_IMAGE,
    dns_why_not: str = "",
    hooks: Hooks | None = None,
) -> v.VerifyReport:
    """Run the checks, hand the report to ``hooks.on_report``, write JUnit; raise
    VerificationFailed on a failure.

    ``version``: the k3s release to expect (``None``: the inventory's, ``""``: any one).
    ``dns_image``: the DNS smoke test's image; ``None`` skips it with a warning giving
    ``dns_why_not``. ``junit``: also write a JUnit XML report there (its directory is
    checked before any host is contacted).
    """
    hooks = hooks or Hooks()
    if junit is not None:  # before any host is contacted
        paths.check_output_file(junit, "--junit")
    hooks.step(f"verifying the hosts of {inventory}")
    report = v.verify(
        inventory,
        workloads=workloads,
        min_free_mb=min_free_mb,
        on_host_done=lambda h: hooks.step(f"{h}: checked"),
        version=version,
        dns_image=dns_image,
        dns_why_not=dns_why_not,
    )
    hooks.on_report(report)
    if junit is not None:
        paths.write_atomic(junit, to_junit(report))
    if not report.ok:
        names = sorted({f"{r.host}: {r.name}" for r in report.failed})
        raise VerificationFailed(
            f"{len(report.failed)} check(s) failed: "
            + "; ".join(names[:6])
            + (" …" if len(names) > 6 else ""),
            hint="Each failure above says its likely cause and fix.",
        )
    return report
