"""A helm: entry → one HelmChart (helm.cattle.io/v1) document for helm-controller."""

from __future__ import annotations

import base64
import io
import re
import tarfile
from pathlib import Path
from typing import Any

import yaml

from pi_k8s.workloads.model import (
    HELM_NAMESPACE,
    check_name,
)
from pi_k8s.workloads.problems import SPEC_HINT, problem_at, refuse_unknown_keys, yaml_error

_HELM_KEYS = {
    "chart",
    "repo",
    "chartContent",
    "version",
    "targetNamespace",
    "createNamespace",
    "values",
    "valuesContent",
}


def helm_chart(
    source: str, at: str, helm: Any, name: str, base: Path
) -> tuple[list[tuple[str, int, dict[str, Any]]], list[str]]:
    if not isinstance(helm, dict):
        raise problem_at(source, None, at, "must be a mapping", SPEC_HINT)
    refuse_unknown_keys(source, at, helm, _HELM_KEYS)
    for key in ("chart", "repo", "chartContent", "version", "targetNamespace", "valuesContent"):
        if key in helm and not isinstance(helm[key], str):
            raise problem_at(
                source,
                None,
                f"{at}.{key}",
                f"must be text, got {type(helm[key]).__name__} {helm[key]!r}"
                + (" (quote it in YAML)" if key == "version" else ""),
                SPEC_HINT,
            )
    spec: dict[str, Any] = {}
    sources = [Path(source).name]
    if "chartContent" in helm:
        if "chart" in helm or "repo" in helm:
            raise problem_at(
                source, None, at, "give either chart (+ repo) or chartContent, not both", ""
            )
        spec["chartContent"] = _chart_archive(source, f"{at}.chartContent", helm, base)
        sources.append(helm["chartContent"])
    elif "chart" in helm:
        spec["chart"] = helm["chart"]
        if "repo" in helm:
            if not re.fullmatch(r"(https?|oci)://\S+", helm["repo"]):
                raise problem_at(
                    source, None, f"{at}.repo", f"{helm['repo']!r} is not an http(s) URL", ""
                )
            spec["repo"] = helm["repo"]
        elif "/" not in helm["chart"]:
            raise problem_at(
                source,
                None,
                f"{at}.repo",
                f"required: chart {helm['chart']!r} names no repository",
                "Add repo: URL, give chart as a URL or oci:// reference, or use chartContent.",
            )
    else:
        raise problem_at(source, None, f"{at}.chart", "required (or chartContent)", SPEC_HINT)
    if "version" in helm:
        spec["version"] = helm["version"]
    namespace = helm.get("targetNamespace", "default")
    problem = check_name(namespace)
    if problem:
        raise problem_at(source, None, f"{at}.targetNamespace", problem, SPEC_HINT)
    spec["targetNamespace"] = namespace
    if "createNamespace" in helm:
        if not isinstance(helm["createNamespace"], bool):
            raise problem_at(source, None, f"{at}.createNamespace", "must be true or false", "")
        spec["createNamespace"] = helm["createNamespace"]
    if "values" in helm and "valuesContent" in helm:
        raise problem_at(source, None, at, "give either values or valuesContent, not both", "")
    if "values" in helm:
        if not isinstance(helm["values"], dict):
            raise problem_at(source, None, f"{at}.values", "must be a mapping", SPEC_HINT)
        if helm["values"]:
            spec["valuesContent"] = yaml.safe_dump(helm["values"], sort_keys=False)
    elif "valuesContent" in helm:
        try:
            values = yaml.safe_load(helm["valuesContent"])
        except yaml.YAMLError as exc:
            raise problem_at(
                source, None, f"{at}.valuesContent", f"not valid YAML: {yaml_error(exc)}", ""
            ) from None
        if values is not None and not isinstance(values, dict):
            raise problem_at(
                source, None, f"{at}.valuesContent", "must be a YAML mapping of values", ""
            )
        spec["valuesContent"] = helm["valuesContent"]
    doc = {
        "apiVersion": "helm.cattle.io/v1",
        "kind": "HelmChart",
        "metadata": {"name": name, "namespace": HELM_NAMESPACE},
        "spec": spec,
    }
    return [(source, 0, doc)], sources


def _chart_archive(source: str, at: str, helm: dict[str, Any], base: Path) -> str:
    entry = helm["chartContent"]
    path = base / entry
    if not path.is_file():
        raise problem_at(source, None, at, f"{entry} does not exist (relative to the spec)", "")
    data = path.read_bytes()
    try:
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
            names = tar.getnames()
    except (tarfile.TarError, OSError, EOFError):
        raise problem_at(
            source,
            None,
            at,
            f"{entry} is not a packaged Helm chart (.tgz)",
            "Make it with `helm package DIR`.",
        ) from None
    if not any(n.count("/") == 1 and n.endswith("/Chart.yaml") for n in names):
        raise problem_at(
            source,
            None,
            at,
            f"{entry} has no <chart>/Chart.yaml: not a packaged Helm chart",
            "Make it with `helm package DIR`.",
        )
    return base64.b64encode(data).decode()
