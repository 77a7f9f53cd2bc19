"""Rollout status parsers, from `kubectl get ... --all-namespaces -o json` outputs.

k3s cannot run here and its stand-in's kubectl implements only `get nodes`, so nothing
could be recorded: the fixtures (tests/fixtures/rollout/<case>.json) are hand-written
from the documented shape. That is the Kubernetes API reference for each object's
fields, status included: Deployment
(https://kubernetes.io/docs/reference/kubernetes-api/workload-resources/deployment-v1/),
DaemonSet (.../workload-resources/daemon-set-v1/), StatefulSet
(.../workload-resources/stateful-set-v1/) and Job (.../workload-resources/job-v1/), in
kubectl's `List` wrapper; and for a HelmChart, `status.jobName` as k3s's helm-controller
defines it (k3s-io/helm-controller, pkg/apis/helm.cattle.io/v1/types.go). The expected
states follow `kubectl rollout status`. Fields the parsers never read (managedFields,
full pod templates) are left out. A real cluster adds those, events, and the time it
takes: the loop in `deploy.wait` is tested here with a fake clock, and on the testbed
only its fast failure against the stand-in.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pi_k8s import deploy, rollout, workloads
from pi_k8s.errors import VerificationFailed

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "rollout"
CASES = sorted(p.stem for p in FIXTURES.glob("*.json"))
REPO = Path(__file__).resolve().parent.parent.parent


def test_there_are_fixtures_for_every_kind() -> None:
    kinds = set()
    for case in CASES:
        kinds |= {t["kind"] for t in json.loads((FIXTURES / f"{case}.json").read_text())["targets"]}
    assert kinds == {"Deployment", "DaemonSet", "StatefulSet", "HelmChart"}


@pytest.mark.parametrize("case", CASES)
def test_status_from_hand_written_kubectl_output(case: str) -> None:
    data = json.loads((FIXTURES / f"{case}.json").read_text())
    targets = [rollout.Target(**t) for t in data["targets"]]
    got = [[s.state, s.detail] for s in rollout.statuses(targets, data["kubectl_stdout"])]
    assert got == data["expect"]


def _examples() -> workloads.Rendered:
    return workloads.load(REPO / "examples" / "workloads.yaml", {"cluster_name": "t"})


def test_targets_and_the_one_kubectl_call_for_the_examples() -> None:
    targets = rollout.targets(_examples())
    assert targets == [
        rollout.Target("hello-web", "Deployment", "default", "hello-web"),
        rollout.Target("node-exporter", "HelmChart", "kube-system", "node-exporter"),
    ]
    assert rollout.kubectl_args(targets) == [
        "get",
        "deployments.apps,helmcharts.helm.cattle.io,jobs.batch",
        "--all-namespaces",
        "-o",
        "json",
    ]


def _fixture_stdout(case: str) -> str:
    return str(json.loads((FIXTURES / f"{case}.json").read_text())["kubectl_stdout"])


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def test_wait_polls_until_every_rollout_is_ready() -> None:
    mixed = _fixture_stdout("examples_mixed")
    done = mixed.replace('"active": 1', '"succeeded": 1')
    assert done != mixed
    outputs = iter([_fixture_stdout("nothing_applied_yet"), mixed, done])
    calls: list[list[str]] = []

    def fetch(args: list[str]) -> tuple[int, str, str]:
        calls.append(args)
        return 0, next(outputs), ""

    clock = FakeClock()
    result = deploy.wait(_examples(), fetch, timeout=60, interval=5, clock=clock, sleep=clock.sleep)
    assert result.ok
    assert len(calls) == 3
    assert clock.sleeps == [5, 5]
    assert [s.state for s in result.statuses] == ["ready", "ready"]


def test_wait_gives_up_at_the_timeout_and_reports_what_is_not_ready() -> None:
    clock = FakeClock()
    result = deploy.wait(
        _examples(),
        lambda args: (0, _fixture_stdout("examples_mixed"), ""),
        timeout=12,
        interval=5,
        clock=clock,
        sleep=clock.sleep,
    )
    assert result.timed_out and not result.ok
    assert clock.now == 12
    assert [s.state for s in result.statuses] == ["ready", "progressing"]


def test_wait_stops_at_a_failed_rollout_without_waiting_for_the_timeout() -> None:
    clock = FakeClock()
    stdout = _fixture_stdout("deployment_deadline_exceeded")
    rendered = workloads.Rendered(
        "s",
        [
            workloads.RenderedWorkload(
                "hello-web",
                "",
                [workloads.ObjectRef("apps/v1", "Deployment", "hello-web", None)],
                [],
            )
        ],
    )
    result = deploy.wait(
        rendered, lambda a: (0, stdout, ""), timeout=600, clock=clock, sleep=clock.sleep
    )
    assert not result.ok and not result.timed_out
    assert result.statuses[0].state == "failed"
    assert clock.sleeps == []


def test_wait_fails_fast_when_kubectl_cannot_answer() -> None:
    """The stand-in's own words (tests/standin/k3s) for a `get` it does not implement."""
    clock = FakeClock()
    err = 'error: the k3s stand-in does not implement "get deployments.apps,... -o json"\n'
    with pytest.raises(VerificationFailed) as exc:
        deploy.wait(
            _examples(), lambda a: (1, "", err), timeout=600, clock=clock, sleep=clock.sleep
        )
    assert "rc=1" in exc.value.message
    assert "the k3s stand-in does not implement" in exc.value.message
    assert "--no-wait" in (exc.value.hint or "")
    assert clock.sleeps == []


def test_nothing_to_wait_for_without_rollout_kinds(tmp_path: Path) -> None:
    (tmp_path / "cm.yaml").write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n")
    (tmp_path / "w.yaml").write_text("workloads: [{name: a, manifests: [cm.yaml]}]\n")

    def fetch(args: list[str]) -> tuple[int, str, str]:
        raise AssertionError("kubectl must not be called")

    result = deploy.wait(workloads.load(tmp_path / "w.yaml"), fetch, timeout=5)
    assert result.statuses == [] and result.ok
