"""Workload names, limits and the rendered result: what every other step returns."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

FILE_PREFIX = "pi-k8s-"
HEADER = "# Managed by pi-k8s"
DEFAULT_KUBERNETES_VERSION = "1.31"
HELM_NAMESPACE = "kube-system"
# k3s names the Addon after the file and helm-controller the Job `helm-install-<name>`;
# both must stay within a 63-character DNS-1123 label.
MAX_NAME = 63 - len(FILE_PREFIX)
MAX_HELM_NAME = 63 - len("helm-install-")
_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")


@dataclass(frozen=True)
class ObjectRef:
    """One Kubernetes object a workload puts on the cluster."""

    api_version: str
    kind: str
    name: str
    namespace: str | None


@dataclass
class RenderedWorkload:
    """A workload rendered into the one file k3s will apply."""

    name: str
    content: str
    objects: list[ObjectRef]
    sources: list[str]

    @property
    def filename(self) -> str:
        return f"{FILE_PREFIX}{self.name}.yaml"


@dataclass
class Rendered:
    """The whole spec, rendered and validated."""

    source: str
    workloads: list[RenderedWorkload]
    warnings: list[str] = field(default_factory=list)

    def names(self) -> list[str]:
        return [w.name for w in self.workloads]


@dataclass
class WorkloadChange:
    """What a deploy does (or would do) to one workload's file on the servers."""

    name: str
    filename: str
    action: str  # added | changed | unchanged | removed | stale
    hosts: list[str]
    diff: str = ""


def check_name(value: Any, *, limit: int = MAX_NAME) -> str | None:
    """Why ``value`` is not a usable workload name, or None if it is."""
    if not isinstance(value, str) or not value:
        return "must be a non-empty string"
    if not _LABEL.fullmatch(value):
        return (
            f"{value!r} is not a valid Kubernetes name (DNS-1123 label: lower-case letters, "
            "digits and '-', starting and ending with a letter or digit)"
        )
    if len(value) > limit:
        return f"{value!r} is {len(value)} characters long; at most {limit} are allowed here"
    return None
