"""Workloads spec: load `workloads.yaml`, validate every object offline, render one file each.

Pure: reads the spec and the files it names, returns data, raises ``SpecError``. Nothing
here touches a host; ``pi_k8s.deploy`` hands the result to the ``k3s_workloads`` role.

A spec (see examples/workloads.yaml)::

    kubernetesVersion: "1.31"        # schemas to check against (default 1.31)
    vars: {replicas: 2}              # template variables (beside the inventory's cluster_*)
    workloads:
      - name: hello                  # DNS-1123 label; the file is pi-k8s-hello.yaml
        manifests: [hello/]          # files, directories (*.yaml, *.yml, *.j2), Jinja2 .j2
      - name: node-exporter
        helm: {chart: ..., repo: ..., version: ..., targetNamespace: ..., values: {...}}

Schemas: Kubernetes' own kinds are checked with the ``kubernetes-validate`` package
(its JSON schemas ship inside the wheel, so the check is offline), in strict mode so a
misspelt field is an error. ``HelmChart`` (helm.cattle.io/v1) is checked against a small
schema shipped here, taken from k3s's helm-controller types. Other kinds (custom
resources) get the apiVersion/kind/metadata.name check and a warning.

The package, one job a module: ``model`` (names, limits, the rendered result),
``loader`` (the spec file → ``Rendered``), ``manifests`` and ``helm`` (a workload's
documents), ``objects`` (the offline schema check), ``changes`` (rendered files vs the
servers' files, the role's variables) with ``redact`` (Secret values out of its diffs),
``problems`` (how errors name the file and field) and ``dump`` (the YAML dumper).
"""

from pi_k8s.workloads.changes import plan, playbook_vars
from pi_k8s.workloads.loader import cluster_variables, load
from pi_k8s.workloads.model import (
    DEFAULT_KUBERNETES_VERSION,
    FILE_PREFIX,
    HEADER,
    HELM_NAMESPACE,
    MAX_HELM_NAME,
    MAX_NAME,
    ObjectRef,
    Rendered,
    RenderedWorkload,
    WorkloadChange,
    check_name,
)
from pi_k8s.workloads.objects import HELMCHART_SCHEMA
from pi_k8s.workloads.redact import SECRET_HIDDEN, SECRET_NEW, SECRET_OLD, hide_secrets

__all__ = [
    "DEFAULT_KUBERNETES_VERSION",
    "FILE_PREFIX",
    "HEADER",
    "HELMCHART_SCHEMA",
    "HELM_NAMESPACE",
    "MAX_HELM_NAME",
    "MAX_NAME",
    "SECRET_HIDDEN",
    "SECRET_NEW",
    "SECRET_OLD",
    "ObjectRef",
    "Rendered",
    "RenderedWorkload",
    "WorkloadChange",
    "check_name",
    "cluster_variables",
    "hide_secrets",
    "load",
    "plan",
    "playbook_vars",
]
