"""Check one Kubernetes object offline: name, namespace, and its schema."""

from __future__ import annotations

import re
from typing import Any

from pi_k8s.errors import SpecError
from pi_k8s.workloads.model import (
    ObjectRef,
    check_name,
)
from pi_k8s.workloads.problems import MANIFEST_HINT, path_text, problem_at

_SUBDOMAIN = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")

# helm.cattle.io/v1 HelmChart, from k3s-io/helm-controller's pkg/apis types (spec fields
# with their JSON types). Unknown spec fields are allowed: newer helm-controllers add some.
HELMCHART_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["apiVersion", "kind", "metadata", "spec"],
    "properties": {
        "apiVersion": {"const": "helm.cattle.io/v1"},
        "kind": {"const": "HelmChart"},
        "metadata": {"type": "object"},
        "spec": {
            "type": "object",
            "properties": {
                "targetNamespace": {"type": "string"},
                "createNamespace": {"type": "boolean"},
                "chart": {"type": "string"},
                "version": {"type": "string"},
                "repo": {"type": "string"},
                "repoCA": {"type": "string"},
                "set": {
                    "type": "object",
                    "additionalProperties": {"type": ["string", "integer", "boolean"]},
                },
                "valuesContent": {"type": "string"},
                "helmVersion": {"type": "string", "enum": ["v2", "v3"]},
                "bootstrap": {"type": "boolean"},
                "chartContent": {"type": "string"},
                "jobImage": {"type": "string"},
                "backOffLimit": {"type": "integer"},
                "timeout": {"type": "string"},
                "failurePolicy": {"type": "string", "enum": ["abort", "reinstall"]},
                "authSecret": {"type": "object"},
                "authPassCredentials": {"type": "boolean"},
                "dockerRegistrySecret": {"type": "object"},
            },
            "anyOf": [{"required": ["chart"]}, {"required": ["chartContent"]}],
        },
    },
}


def check_object(
    shown: str, index: int, doc: dict[str, Any], kube_version: str, warnings: list[str]
) -> ObjectRef:
    for key in ("apiVersion", "kind"):
        if key not in doc:
            raise problem_at(shown, index, key, "required", MANIFEST_HINT)
        if not isinstance(doc[key], str) or not doc[key]:
            raise problem_at(shown, index, key, "must be non-empty text", MANIFEST_HINT)
    meta = doc.get("metadata")
    if not isinstance(meta, dict):
        raise problem_at(shown, index, "metadata", "required (a mapping with name)", "")
    if "name" not in meta:
        fld = "metadata.name"
        msg = "required" + (" (generateName is not supported)" if "generateName" in meta else "")
        raise problem_at(shown, index, fld, msg, MANIFEST_HINT)
    name = meta["name"]
    if not isinstance(name, str) or not _SUBDOMAIN.fullmatch(name) or len(name) > 253:
        raise problem_at(
            shown,
            index,
            "metadata.name",
            f"{name!r} is not a valid Kubernetes name (DNS-1123: lower-case letters, "
            "digits, '-' and '.')",
            MANIFEST_HINT,
        )
    namespace = meta.get("namespace")
    if namespace is not None and (not isinstance(namespace, str) or check_name(namespace)):
        raise problem_at(
            shown,
            index,
            "metadata.namespace",
            f"{namespace!r} is not a valid namespace name",
            MANIFEST_HINT,
        )
    _check_schema(shown, index, doc, kube_version, warnings)
    return ObjectRef(doc["apiVersion"], doc["kind"], name, namespace)


def _check_schema(
    shown: str, index: int, doc: dict[str, Any], kube_version: str, warnings: list[str]
) -> None:
    import jsonschema
    import kubernetes_validate as kv

    if doc["apiVersion"] == "helm.cattle.io/v1" and doc["kind"] == "HelmChart":
        errors = sorted(
            jsonschema.Draft202012Validator(HELMCHART_SCHEMA).iter_errors(doc),
            key=lambda e: list(map(str, e.path)),
        )
        if errors:
            err = errors[0]
            raise problem_at(
                shown, index, path_text(list(err.path)) or None, err.message, MANIFEST_HINT
            )
        return
    try:
        kv.validate(doc, kube_version, strict=True)
    except kv.ValidationError as exc:
        raise problem_at(
            shown,
            index,
            path_text(list(exc.path)) or None,
            f"{exc.message} (schema of Kubernetes {exc.version})",
            MANIFEST_HINT,
        ) from None
    except kv.SchemaNotFoundError:
        warnings.append(
            f"{shown}: document {index}: no schema for {doc['kind']} ({doc['apiVersion']}) "
            f"in Kubernetes {kube_version}; only apiVersion, kind and metadata.name were checked"
        )
    except kv.VersionNotSupportedError:
        raise SpecError(
            f"kubernetesVersion {kube_version} has no shipped schemas.",
            hint="Use a version from 1.25 on.",
        ) from None
