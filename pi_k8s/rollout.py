"""Rollout status of deployed workloads, read from `k3s kubectl get ... -o json`.

Pure: ``targets()`` lists what to wait for, ``kubectl_args()`` the one `get` that reads it
all, ``statuses()`` turns kubectl's JSON into one ``RolloutStatus`` per target. The rules
follow `kubectl rollout status` (Deployment, DaemonSet, StatefulSet) and, for a
``HelmChart``, the install Job that k3s's helm-controller runs (``status.jobName``,
``helm-install-<name>`` by default).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from pi_k8s.workloads import HELM_NAMESPACE, Rendered

ROLLOUT_KINDS = {
    "Deployment": "deployments.apps",
    "DaemonSet": "daemonsets.apps",
    "StatefulSet": "statefulsets.apps",
}


@dataclass(frozen=True)
class Target:
    workload: str
    kind: str  # Deployment | DaemonSet | StatefulSet | HelmChart
    namespace: str
    name: str

    @property
    def label(self) -> str:
        return f"{self.kind.lower()}/{self.name} ({self.namespace})"


@dataclass
class RolloutStatus:
    target: Target
    state: str  # ready | progressing | failed | missing
    detail: str

    @property
    def done(self) -> bool:
        return self.state in {"ready", "failed"}


def targets(rendered: Rendered) -> list[Target]:
    out = []
    for w in rendered.workloads:
        for obj in w.objects:
            if obj.kind in ROLLOUT_KINDS and obj.api_version == "apps/v1":
                out.append(Target(w.name, obj.kind, obj.namespace or "default", obj.name))
            elif obj.kind == "HelmChart" and obj.api_version == "helm.cattle.io/v1":
                out.append(Target(w.name, "HelmChart", obj.namespace or HELM_NAMESPACE, obj.name))
    return out


def kubectl_args(wanted: list[Target]) -> list[str]:
    """`k3s kubectl` arguments that read every target (and HelmCharts' Jobs) in one call."""
    kinds = sorted({t.kind for t in wanted})
    resources = [ROLLOUT_KINDS[k] for k in kinds if k in ROLLOUT_KINDS]
    if "HelmChart" in kinds:
        resources += ["helmcharts.helm.cattle.io", "jobs.batch"]
    return ["get", ",".join(resources), "--all-namespaces", "-o", "json"]


def _conditions(obj: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c.get("type", ""): c for c in (obj.get("status") or {}).get("conditions") or []}


def _generation_seen(obj: dict[str, Any]) -> bool:
    gen = (obj.get("metadata") or {}).get("generation", 0)
    return gen <= (obj.get("status") or {}).get("observedGeneration", 0)


def _rolling_update_pending(obj: dict[str, Any], what: str) -> tuple[str, str] | None:
    """The start DaemonSet and StatefulSet viewers share: an update strategy other than
    RollingUpdate is not tracked (ready), an unobserved spec is progressing; else None."""
    strategy = ((obj.get("spec") or {}).get("updateStrategy") or {}).get("type", "RollingUpdate")
    if strategy != "RollingUpdate":
        return "ready", f"updateStrategy {strategy}: rollout status is not tracked"
    if not _generation_seen(obj):
        return "progressing", f"waiting for the {what} spec update to be observed"
    return None


def _progressing_until(ready: str, waits: list[tuple[bool, str]]) -> tuple[str, str]:
    """("progressing", the detail of the first wait that still holds), else ("ready", ``ready``):
    the order kubectl's status viewers check their counts in."""
    for waiting, detail in waits:
        if waiting:
            return "progressing", detail
    return "ready", ready


def deployment_status(obj: dict[str, Any]) -> tuple[str, str]:
    """kubectl's DeploymentStatusViewer: (state, detail)."""
    if not _generation_seen(obj):
        return "progressing", "waiting for the deployment spec update to be observed"
    cond = _conditions(obj).get("Progressing", {})
    if cond.get("reason") == "ProgressDeadlineExceeded":
        return "failed", f"exceeded its progress deadline: {cond.get('message', '')}".strip()
    st = obj.get("status") or {}
    want = (obj.get("spec") or {}).get("replicas", 1)
    updated = st.get("updatedReplicas", 0)
    replicas = st.get("replicas", 0)
    available = st.get("availableReplicas", 0)
    return _progressing_until(
        f"{available} of {want} replicas available",
        [
            (updated < want, f"{updated} of {want} updated replicas are available"),
            (replicas > updated, f"{replicas - updated} old replicas are pending termination"),
            (available < updated, f"{available} of {updated} updated replicas are available"),
        ],
    )


def daemonset_status(obj: dict[str, Any]) -> tuple[str, str]:
    """kubectl's DaemonSetStatusViewer."""
    if pending := _rolling_update_pending(obj, "daemon set"):
        return pending
    st = obj.get("status") or {}
    keys = ("desiredNumberScheduled", "updatedNumberScheduled", "numberAvailable")
    desired, updated, available = (st.get(key, 0) for key in keys)
    return _progressing_until(
        f"{available} of {desired} pods available",
        [
            (updated < desired, f"{updated} out of {desired} new pods have been updated"),
            (available < desired, f"{available} of {desired} updated pods are available"),
        ],
    )


def statefulset_status(obj: dict[str, Any]) -> tuple[str, str]:
    """kubectl's StatefulSetStatusViewer."""
    spec = obj.get("spec") or {}
    if pending := _rolling_update_pending(obj, "statefulset"):
        return pending
    strategy = spec.get("updateStrategy") or {}
    st = obj.get("status") or {}
    want = spec.get("replicas", 1)
    ready = st.get("readyReplicas", 0)
    if ready < want:
        return "progressing", f"{ready} of {want} pods are ready"
    partition = (strategy.get("rollingUpdate") or {}).get("partition", 0)
    if partition:
        updated = st.get("updatedReplicas", 0)
        if updated < want - partition:
            return "progressing", f"{updated} of {want - partition} updated pods are ready"
        return "ready", f"partitioned roll out complete: {updated} new pods"
    if st.get("updateRevision") != st.get("currentRevision"):
        return "progressing", (
            f"{st.get('updatedReplicas', 0)} pods at revision {st.get('updateRevision')}"
        )
    return "ready", f"{ready} of {want} pods ready at revision {st.get('currentRevision')}"


def job_status(obj: dict[str, Any]) -> tuple[str, str]:
    """A helm-controller install Job: done once it succeeded, failed once Failed=True."""
    conds = _conditions(obj)
    st = obj.get("status") or {}
    if conds.get("Complete", {}).get("status") == "True" or st.get("succeeded", 0) >= 1:
        return "ready", "helm install job succeeded"
    failed = conds.get("Failed", {})
    if failed.get("status") == "True":
        return "failed", f"helm install job failed: {failed.get('message') or failed.get('reason')}"
    attempts = st.get("failed", 0)
    if attempts:
        return "progressing", f"helm install job running; {attempts} attempt(s) failed so far"
    if st.get("active", 0):
        return "progressing", "helm install job running"
    return "progressing", "helm install job created, not started"


_VIEWERS = {
    "Deployment": deployment_status,
    "DaemonSet": daemonset_status,
    "StatefulSet": statefulset_status,
}


def statuses(wanted: list[Target], kubectl_json: str) -> list[RolloutStatus]:
    """One status per target from the output of ``kubectl_args(wanted)``."""
    data = json.loads(kubectl_json)
    items = data.get("items", []) if data.get("kind", "").endswith("List") else [data]
    index = {
        (
            i.get("kind"),
            (i.get("metadata") or {}).get("namespace", "default"),
            (i.get("metadata") or {}).get("name"),
        ): i
        for i in items
    }
    out = []
    for t in wanted:
        obj = index.get((t.kind, t.namespace, t.name))
        if obj is None:
            what = "HelmChart" if t.kind == "HelmChart" else t.kind
            out.append(RolloutStatus(t, "missing", f"{what} not created yet"))
            continue
        if t.kind != "HelmChart":
            state, detail = _VIEWERS[t.kind](obj)
            out.append(RolloutStatus(t, state, detail))
            continue
        job_name = (obj.get("status") or {}).get("jobName") or f"helm-install-{t.name}"
        job = index.get(("Job", t.namespace, job_name))
        if job is None:
            out.append(RolloutStatus(t, "missing", f"install job {job_name} not created yet"))
            continue
        state, detail = job_status(job)
        out.append(RolloutStatus(t, state, f"{job_name}: {detail}"))
    return out
