"""Put the workloads of a spec on the cluster, validated first: the job of `pi-k8s deploy`."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from pi_k8s import ansible_vars, lb, vip
from pi_k8s import deploy as d
from pi_k8s.errors import VerificationFailed
from pi_k8s.operations.hooks import Hooks

DeployResult = d.DeployResult
WaitResult = d.WaitResult


@dataclass
class DeployOutcome:
    result: DeployResult
    waited: WaitResult | None = None  # None: --check or --no-wait


def run_deploy(
    spec: Path,
    inventory: Path,
    *,
    check: bool = False,
    prune: bool = False,
    wait: bool = True,
    timeout: float = 300,
    cli_vars: list[str] | None = None,
    hooks: Hooks | None = None,
) -> DeployOutcome:
    """Validate the workloads, place them on every server (k3s applies them), wait for
    the rollouts.

    Raises SpecError before any host is contacted (bad spec, or an inventory whose API
    VIP or LB pool cannot work), PlaybookFailed when deploy.yml fails, and
    VerificationFailed when a rollout fails or ``timeout`` seconds pass first.
    """
    hooks = hooks or Hooks()
    rendered = d.prepare(spec, inventory, cli_vars)
    hostvars = ansible_vars.load(inventory).hostvars
    lb.check_inventory(inventory, hostvars, vip.check_inventory(inventory, hostvars))
    for warning in rendered.warnings:
        hooks.warn(warning)
    hooks.step(
        f"{len(rendered.workloads)} workload(s) valid in {spec}: {', '.join(rendered.names())}"
    )
    with hooks.playbook("deploy" + (" (check)" if check else "")) as on_event:
        result = d.apply(rendered, inventory, check=check, prune=prune, on_event=on_event)
    hooks.on_run(result.run)
    hooks.on_changes(result)
    if check or not wait:
        return DeployOutcome(result)
    hooks.step(f"waiting up to {timeout:.0f}s for rollouts (k3s kubectl on the first server)")
    waited = d.wait(
        rendered,
        d.kubectl_on_first_server(inventory),
        timeout=timeout,
        on_poll=hooks.on_poll,
    )
    if not waited.statuses:
        hooks.info("nothing to wait for: no Deployment, DaemonSet, StatefulSet or HelmChart")
        return DeployOutcome(result, waited)
    hooks.on_waited(waited)
    if not waited.ok:
        bad = [s for s in waited.statuses if s.state != "ready"]
        raise VerificationFailed(
            ("Timed out: " if waited.timed_out else "")
            + "; ".join(f"{s.target.workload} {s.target.label}: {s.detail}" for s in bad),
            hint="Inspect with `k3s kubectl describe` on a server; the files are in place "
            "and k3s keeps applying them.",
        )
    return DeployOutcome(result, waited)
