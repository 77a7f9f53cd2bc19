"""Read `workloads.yaml`, check its keys and names, and render each workload into one file."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from pi_k8s.errors import SpecError
from pi_k8s.workloads.dump import Dumper
from pi_k8s.workloads.helm import helm_chart
from pi_k8s.workloads.manifests import load_manifests
from pi_k8s.workloads.model import (
    DEFAULT_KUBERNETES_VERSION,
    HEADER,
    MAX_HELM_NAME,
    MAX_NAME,
    Rendered,
    RenderedWorkload,
    check_name,
)
from pi_k8s.workloads.objects import check_object
from pi_k8s.workloads.problems import (
    MANIFEST_HINT,
    SPEC_HINT,
    problem_at,
    refuse_unknown_keys,
    yaml_error,
)

_SPEC_KEYS = {"kubernetesVersion", "vars", "workloads"}
_WORKLOAD_KEYS = {"name", "manifests", "helm"}


def cluster_variables(inventory: dict[str, Any]) -> dict[str, Any]:
    """The ``cluster_*`` variables of an inventory dict (any group's ``vars``), for templates."""
    found: dict[str, Any] = {}

    def walk(group: Any) -> None:
        if not isinstance(group, dict):
            return
        for key, value in (group.get("vars") or {}).items():
            if isinstance(key, str) and key.startswith("cluster_"):
                found.setdefault(key, value)
        for child in (group.get("children") or {}).values():
            walk(child)

    for group in inventory.values():
        walk(group)
    return found


def load(
    path: str | Path,
    variables: dict[str, Any] | None = None,
) -> Rendered:
    """Read ``path``, validate it and everything it names, and render every workload."""
    spec_path = Path(path)
    source = str(path)
    try:
        text = spec_path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SpecError(
            f"Workloads spec {source} does not exist.",
            hint="Pass --spec FILE; examples/workloads.yaml shows the format.",
        ) from None
    except OSError as exc:
        raise SpecError(f"Cannot read {source}: {exc.strerror}.", hint=SPEC_HINT) from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise problem_at(
            source, None, None, f"not valid YAML: {yaml_error(exc)}", SPEC_HINT
        ) from None
    if not isinstance(data, dict):
        raise problem_at(source, None, None, "must be a mapping with a 'workloads' list", SPEC_HINT)
    refuse_unknown_keys(source, None, data, _SPEC_KEYS)
    kube_version = str(data.get("kubernetesVersion", DEFAULT_KUBERNETES_VERSION))
    if not re.fullmatch(r"v?1\.\d+(\.\d+)?", kube_version):
        raise problem_at(
            source, None, "kubernetesVersion", f"{kube_version!r} is not like 1.31", SPEC_HINT
        )
    spec_vars = data.get("vars") or {}
    if not isinstance(spec_vars, dict):
        raise problem_at(source, None, "vars", "must be a mapping", SPEC_HINT)
    items = data.get("workloads")
    if not isinstance(items, list) or not items:
        raise problem_at(source, None, "workloads", "must be a non-empty list", SPEC_HINT)
    context = {**spec_vars, **(variables or {})}
    base = spec_path.resolve().parent
    rendered = Rendered(source=source, workloads=[])
    seen: set[str] = set()
    for i, item in enumerate(items):
        rendered.workloads.append(
            _workload(source, i, item, base, context, kube_version, rendered.warnings)
        )
        name = rendered.workloads[-1].name
        if name in seen:
            raise problem_at(
                source, None, f"workloads[{i}].name", f"{name!r} is used twice", SPEC_HINT
            )
        seen.add(name)
    return rendered


def _workload(
    source: str,
    i: int,
    item: Any,
    base: Path,
    context: dict[str, Any],
    kube_version: str,
    warnings: list[str],
) -> RenderedWorkload:
    at = f"workloads[{i}]"
    if not isinstance(item, dict):
        raise problem_at(source, None, at, "must be a mapping with name and manifests or helm", "")
    refuse_unknown_keys(source, at, item, _WORKLOAD_KEYS)
    is_helm = "helm" in item
    problem = check_name(item.get("name"), limit=MAX_HELM_NAME if is_helm else MAX_NAME)
    if problem:
        raise problem_at(source, None, f"{at}.name", problem, SPEC_HINT)
    name = str(item["name"])
    if ("manifests" in item) == is_helm:
        raise problem_at(
            source, None, at, f"workload {name!r} needs exactly one of manifests or helm", ""
        )
    if is_helm:
        docs, sources = helm_chart(source, f"{at}.helm", item["helm"], name, base)
    else:
        docs, sources = load_manifests(source, f"{at}.manifests", item["manifests"], base, context)
    objects = []
    for doc_source, index, doc in docs:
        objects.append(check_object(doc_source, index, doc, kube_version, warnings))
    seen: dict[tuple[str, str, str | None], str] = {}
    for ref, (doc_source, index, _) in zip(objects, docs, strict=True):
        key = (ref.kind, ref.name, ref.namespace)
        if key in seen:
            raise problem_at(
                doc_source,
                index,
                "metadata.name",
                f"{ref.kind} {ref.name!r} is already defined in {seen[key]}",
                MANIFEST_HINT,
            )
        seen[key] = f"{doc_source} document {index}"
    body = yaml.dump_all(
        [d for _, _, d in docs], Dumper=Dumper, sort_keys=False, explicit_start=True
    )
    header = (
        f"{HEADER} (workload {name}); pi-k8s deploy overwrites this file.\n"
        f"# Sources: {', '.join(sources)}\n"
    )
    return RenderedWorkload(name=name, content=header + body, objects=objects, sources=sources)
