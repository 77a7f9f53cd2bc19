"""`pi-k8s deploy` as data: validate the spec, run deploy.yml, compare, wait for rollouts.

Order matters: ``prepare()`` reads and validates everything and raises ``SpecError``
before a run directory exists or any host is contacted. ``apply()`` writes the rendered
workloads to a vars file (mode 0600) in the run's private directory, runs
``playbooks/deploy.yml`` with it, and compares the per-host reports the role wrote
(what was on each server before the run) with what was rendered. The vars file and the
reports hold every manifest, Secrets included: both are removed when the run is over,
so the run directory kept for its log (``runner.KEEP_RUNS``) holds no manifest. ``wait()`` polls the
first server's ``k3s kubectl get -o json`` until every rollout is done or the time is up.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import json
import os
import shutil
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from pi_k8s import paths, rollout, runner, workloads
from pi_k8s.errors import SpecError, VerificationFailed
from pi_k8s.runner import EventCallback, RunResult

PLAYBOOK = "deploy.yml"


@dataclass
class DeployResult:
    run: RunResult
    changes: list[workloads.WorkloadChange]
    check: bool
    prune: bool

    @property
    def stale(self) -> list[workloads.WorkloadChange]:
        return [c for c in self.changes if c.action == "stale"]


@dataclass
class WaitResult:
    statuses: list[rollout.RolloutStatus] = field(default_factory=list)
    timed_out: bool = False

    @property
    def ok(self) -> bool:
        return not self.timed_out and all(s.state == "ready" for s in self.statuses)


def inventory_variables(inventory: Path) -> dict[str, Any]:
    """The ``cluster_*`` variables of a YAML/JSON inventory file, for the templates."""
    try:
        data = yaml.safe_load(inventory.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SpecError(
            f"Inventory {inventory} does not exist.",
            hint="Pass --inventory FILE, or make one with `pi-k8s inventory`.",
        ) from None
    except yaml.YAMLError as exc:
        raise SpecError(f"Inventory {inventory} is not valid YAML: {exc}") from None
    return workloads.cluster_variables(data) if isinstance(data, dict) else {}


def parse_var(text: str) -> tuple[str, Any]:
    """`NAME=VALUE` from the command line; VALUE is read as YAML (so 3 is a number)."""
    name, sep, value = text.partition("=")
    if not sep or not name.isidentifier():
        raise SpecError(f"--var {text!r} is not NAME=VALUE.", hint="Example: --var replicas=2")
    try:
        return name, yaml.safe_load(value) if value else ""
    except yaml.YAMLError:
        return name, value


def prepare(spec: Path, inventory: Path, cli_vars: list[str] | None = None) -> workloads.Rendered:
    """Validate and render everything; raises SpecError before any host is touched."""
    variables = inventory_variables(inventory)
    variables.update(parse_var(v) for v in cli_vars or [])
    return workloads.load(spec, variables)


def _new_run_dir(tag: str) -> Path:
    runs = paths.ensure_private_dir(paths.state_dir() / "runs")
    stamp = _dt.datetime.now().strftime("%Y%m%d-%H%M%S-%f")
    return paths.ensure_private_dir(runs / f"{stamp}-{tag}")


@contextlib.contextmanager
def _private_inputs(run_dir: Path, data: dict[str, Any]) -> Iterator[tuple[Path, Path]]:
    """(vars file, report dir) for one run; both are gone from ``run_dir`` afterwards.

    The vars file is created 0600 (never readable by others, not even for a moment) and
    the report dir 0700: while they exist they hold manifests, Secrets included.
    """
    report_dir = paths.ensure_private_dir(run_dir / "report")
    path = run_dir / "workloads-vars.json"
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump({**data, "k3s_workloads_report_dir": str(report_dir)}, fh, indent=1)
            fh.write("\n")
        yield path, report_dir
    finally:
        path.unlink(missing_ok=True)
        shutil.rmtree(report_dir, ignore_errors=True)


def read_reports(report_dir: Path) -> dict[str, dict[str, str]]:
    """{host: {filename: content}} from the role's per-host reports."""
    out: dict[str, dict[str, str]] = {}
    for path in sorted(report_dir.glob("*.json")):
        data = json.loads(path.read_text(encoding="utf-8"))
        out[path.stem] = dict(data.get("files") or {})
    return out


def apply(
    rendered: workloads.Rendered,
    inventory: Path,
    *,
    check: bool = False,
    prune: bool = False,
    on_event: EventCallback | None = None,
) -> DeployResult:
    """Run deploy.yml with the rendered workloads; raise PlaybookFailed when it fails."""
    run_dir = _new_run_dir("deploy")
    with _private_inputs(run_dir, workloads.playbook_vars(rendered, prune=prune)) as (
        vars_file,
        report_dir,
    ):
        result = runner.run_playbook(
            PLAYBOOK,
            inventory=inventory,
            extravars={"pi_k8s_workloads_file": str(vars_file)},
            check=check,
            # Ansible's diff would print manifests, Secrets included, into the run's
            # artifacts; the plan below diffs the reports instead, with Secret values hidden.
            diff=False,
            on_event=on_event,
            run_dir=run_dir,
        ).raise_for_status()
        current = read_reports(report_dir)
    return DeployResult(
        run=result,
        changes=workloads.plan(rendered, current, prune=prune),
        check=check,
        prune=prune,
    )


Fetch = Callable[[list[str]], tuple[int, str, str]]


def kubectl_on_first_server(inventory: Path) -> Fetch:
    """A fetch that runs `k3s kubectl ARGS` on the first server through deploy.yml's status play."""

    def fetch(args: list[str]) -> tuple[int, str, str]:
        run_dir = _new_run_dir("status")
        with _private_inputs(run_dir, {"k3s_workloads_status_args": args}) as (
            vars_file,
            report_dir,
        ):
            runner.run_playbook(
                PLAYBOOK,
                inventory=inventory,
                extravars={"pi_k8s_workloads_file": str(vars_file)},
                tags="status",
                run_dir=run_dir,
            ).raise_for_status()
            status = report_dir / "status.json"
            if not status.is_file():
                return 1, "", "the status play wrote no status (is there a host in group server?)"
            data = json.loads(status.read_text(encoding="utf-8"))
        return int(data["rc"]), str(data["stdout"]), str(data["stderr"])

    return fetch


def wait(
    rendered: workloads.Rendered,
    fetch: Fetch,
    *,
    timeout: float,
    interval: float = 5.0,
    on_poll: Callable[[list[rollout.RolloutStatus]], None] | None = None,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> WaitResult:
    """Poll until every rollout is ready or failed, or ``timeout`` seconds have passed.

    Raises VerificationFailed when kubectl itself fails (no API server, or a kubectl that
    cannot read these kinds): waiting longer would not help.
    """
    targets = rollout.targets(rendered)
    if not targets:
        return WaitResult()
    args = rollout.kubectl_args(targets)
    deadline = clock() + timeout
    while True:
        rc, out, err = fetch(args)
        if rc != 0:
            first = (err or out).strip().splitlines()
            raise VerificationFailed(
                "Could not read rollout status with `k3s kubectl "
                + " ".join(args)
                + f"` on the first server (rc={rc}): "
                + (first[0] if first else "no output"),
                hint="Check the cluster with `pi-k8s verify`; deploy again with --no-wait "
                "to skip waiting (the files are in place).",
            )
        try:
            current = rollout.statuses(targets, out)
        except (json.JSONDecodeError, AttributeError) as exc:
            raise VerificationFailed(
                f"`k3s kubectl {' '.join(args)}` did not print a JSON list: {exc}",
                hint="Deploy again with --no-wait to skip waiting.",
            ) from None
        if on_poll is not None:
            on_poll(current)
        if all(s.done for s in current):
            return WaitResult(current)
        if clock() >= deadline:
            return WaitResult(current, timed_out=True)
        sleep(min(interval, max(0.0, deadline - clock())))
