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
"""

from __future__ import annotations

import base64
import difflib
import io
import itertools
import re
import tarfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jinja2
import yaml

from pi_k8s.errors import SpecError

FILE_PREFIX = "pi-k8s-"
HEADER = "# Managed by pi-k8s"
DEFAULT_KUBERNETES_VERSION = "1.31"
HELM_NAMESPACE = "kube-system"
# k3s names the Addon after the file and helm-controller the Job `helm-install-<name>`;
# both must stay within a 63-character DNS-1123 label.
MAX_NAME = 63 - len(FILE_PREFIX)
MAX_HELM_NAME = 63 - len("helm-install-")
_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")
_SUBDOMAIN = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")
_MANIFEST_SUFFIXES = (".yaml", ".yml", ".yaml.j2", ".yml.j2", ".j2")
_SPEC_KEYS = {"kubernetesVersion", "vars", "workloads"}
_WORKLOAD_KEYS = {"name", "manifests", "helm"}
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
_SPEC_HINT = "Fix the spec; the format is described in examples/workloads.yaml."
_MANIFEST_HINT = "Fix the manifest; nothing was deployed."

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


# ----------------------------------------------------------------------------- helpers


class _Dumper(yaml.SafeDumper):
    """safe_dump, with multi-line strings (valuesContent, config files) as literal blocks."""


def _str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    if "\n" in value and all(line == line.rstrip() for line in value.splitlines()):
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style="|")
    return dumper.represent_scalar("tag:yaml.org,2002:str", value)


_Dumper.add_representer(str, _str)


def _where(source: str, index: int | None, fld: str | None) -> str:
    parts = [source]
    if index is not None:
        parts.append(f"document {index}")
    if fld:
        parts.append(fld)
    return ": ".join(parts)


def _problem(source: str, index: int | None, fld: str | None, msg: str, hint: str) -> SpecError:
    return SpecError(f"{_where(source, index, fld)}: {msg}", hint=hint or _SPEC_HINT)


def _path_text(path: list[Any] | tuple[Any, ...]) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


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


# ----------------------------------------------------------------------------- spec


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
        raise SpecError(f"Cannot read {source}: {exc.strerror}.", hint=_SPEC_HINT) from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise _problem(
            source, None, None, f"not valid YAML: {_yaml_error(exc)}", _SPEC_HINT
        ) from None
    if not isinstance(data, dict):
        raise _problem(source, None, None, "must be a mapping with a 'workloads' list", _SPEC_HINT)
    unknown = sorted(set(map(str, data)) - _SPEC_KEYS)
    if unknown:
        raise _problem(
            source,
            None,
            unknown[0],
            f"unknown key (allowed: {', '.join(sorted(_SPEC_KEYS))})",
            _SPEC_HINT,
        )
    kube_version = str(data.get("kubernetesVersion", DEFAULT_KUBERNETES_VERSION))
    if not re.fullmatch(r"v?1\.\d+(\.\d+)?", kube_version):
        raise _problem(
            source, None, "kubernetesVersion", f"{kube_version!r} is not like 1.31", _SPEC_HINT
        )
    spec_vars = data.get("vars") or {}
    if not isinstance(spec_vars, dict):
        raise _problem(source, None, "vars", "must be a mapping", _SPEC_HINT)
    items = data.get("workloads")
    if not isinstance(items, list) or not items:
        raise _problem(source, None, "workloads", "must be a non-empty list", _SPEC_HINT)
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
            raise _problem(
                source, None, f"workloads[{i}].name", f"{name!r} is used twice", _SPEC_HINT
            )
        seen.add(name)
    return rendered


def _yaml_error(exc: yaml.YAMLError) -> str:
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None) or str(exc)
    if mark is not None:
        return f"{problem} (line {mark.line + 1}, column {mark.column + 1})"
    return str(problem)


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
        raise _problem(
            source, None, at, "must be a mapping with name and manifests or helm", _SPEC_HINT
        )
    unknown = sorted(set(map(str, item)) - _WORKLOAD_KEYS)
    if unknown:
        raise _problem(
            source,
            None,
            f"{at}.{unknown[0]}",
            f"unknown key (allowed: {', '.join(sorted(_WORKLOAD_KEYS))})",
            _SPEC_HINT,
        )
    is_helm = "helm" in item
    problem = check_name(item.get("name"), limit=MAX_HELM_NAME if is_helm else MAX_NAME)
    if problem:
        raise _problem(source, None, f"{at}.name", problem, _SPEC_HINT)
    name = str(item["name"])
    if ("manifests" in item) == is_helm:
        raise _problem(
            source, None, at, f"workload {name!r} needs exactly one of manifests or helm", ""
        )
    if is_helm:
        docs, sources = _helm(source, f"{at}.helm", item["helm"], name, base)
    else:
        docs, sources = _manifests(source, f"{at}.manifests", item["manifests"], base, context)
    objects = []
    for doc_source, index, doc in docs:
        objects.append(_check_object(doc_source, index, doc, kube_version, warnings))
    seen: dict[tuple[str, str, str | None], str] = {}
    for ref, (doc_source, index, _) in zip(objects, docs, strict=True):
        key = (ref.kind, ref.name, ref.namespace)
        if key in seen:
            raise _problem(
                doc_source,
                index,
                "metadata.name",
                f"{ref.kind} {ref.name!r} is already defined in {seen[key]}",
                _MANIFEST_HINT,
            )
        seen[key] = f"{doc_source} document {index}"
    body = yaml.dump_all(
        [d for _, _, d in docs], Dumper=_Dumper, sort_keys=False, explicit_start=True
    )
    header = (
        f"{HEADER} (workload {name}); pi-k8s deploy overwrites this file.\n"
        f"# Sources: {', '.join(sources)}\n"
    )
    return RenderedWorkload(name=name, content=header + body, objects=objects, sources=sources)


# ----------------------------------------------------------------------------- manifests


def _manifest_files(source: str, at: str, entries: Any, base: Path) -> list[Path]:
    if isinstance(entries, str):
        entries = [entries]
    if not isinstance(entries, list) or not entries:
        raise _problem(source, None, at, "must be a path or a non-empty list of paths", _SPEC_HINT)
    files: list[Path] = []
    for j, entry in enumerate(entries):
        if not isinstance(entry, str) or not entry:
            raise _problem(source, None, f"{at}[{j}]", "must be a path", _SPEC_HINT)
        path = (base / entry) if not Path(entry).is_absolute() else Path(entry)
        if path.is_dir():
            found = sorted(
                p for p in path.iterdir() if p.is_file() and p.name.endswith(_MANIFEST_SUFFIXES)
            )
            if not found:
                raise _problem(
                    source,
                    None,
                    f"{at}[{j}]",
                    f"directory {entry} holds no *.yaml, *.yml or *.j2 file",
                    _SPEC_HINT,
                )
            files.extend(found)
        elif path.is_file():
            files.append(path)
        else:
            raise _problem(
                source,
                None,
                f"{at}[{j}]",
                f"{entry} does not exist (relative to the spec)",
                _SPEC_HINT,
            )
    return files


def _manifests(
    source: str, at: str, entries: Any, base: Path, context: dict[str, Any]
) -> tuple[list[tuple[str, int, dict[str, Any]]], list[str]]:
    docs: list[tuple[str, int, dict[str, Any]]] = []
    sources: list[str] = []
    for path in _manifest_files(source, at, entries, base):
        sources.append(_shown(path, base))
        # Errors name the file as the user can open it: relative to where the spec was given.
        shown = _shown(path, Path.cwd())
        text = path.read_text(encoding="utf-8")
        if path.suffix == ".j2":
            text = _render_template(shown, text, context)
        try:
            loaded = list(yaml.safe_load_all(text))
        except yaml.YAMLError as exc:
            raise _problem(
                shown, None, None, f"not valid YAML: {_yaml_error(exc)}", _MANIFEST_HINT
            ) from None
        count = 0
        for index, doc in enumerate(loaded):
            if doc is None:  # an empty document between two '---'
                continue
            count += 1
            if not isinstance(doc, dict):
                raise _problem(
                    shown,
                    index,
                    None,
                    "must be a Kubernetes object (a mapping), not "
                    f"{type(doc).__name__} {str(doc)[:40]!r}",
                    _MANIFEST_HINT,
                )
            if doc.get("kind") == "List" and isinstance(doc.get("items"), list):
                raise _problem(
                    shown, index, "kind", "List is not supported; write one object per document", ""
                )
            docs.append((shown, index, doc))
        if count == 0:
            raise _problem(shown, None, None, "holds no Kubernetes object", _MANIFEST_HINT)
    return docs, sources


def _shown(path: Path, base: Path) -> str:
    try:
        return str(path.resolve().relative_to(base.resolve()))
    except ValueError:
        return str(path)


def _render_template(shown: str, text: str, context: dict[str, Any]) -> str:
    env = jinja2.Environment(
        undefined=jinja2.StrictUndefined, keep_trailing_newline=True, autoescape=False
    )
    try:
        return env.from_string(text).render(**context)
    except jinja2.TemplateSyntaxError as exc:
        raise _problem(
            shown, None, None, f"template syntax error on line {exc.lineno}: {exc.message}", ""
        ) from None
    except jinja2.UndefinedError as exc:
        raise SpecError(
            f"{shown}: template uses an undefined variable: {exc.message}",
            hint="Define it under vars: in the spec, with --var NAME=VALUE, or in the "
            "inventory as a cluster_* variable.",
        ) from None


# ----------------------------------------------------------------------------- helm


def _helm(
    source: str, at: str, helm: Any, name: str, base: Path
) -> tuple[list[tuple[str, int, dict[str, Any]]], list[str]]:
    if not isinstance(helm, dict):
        raise _problem(source, None, at, "must be a mapping", _SPEC_HINT)
    unknown = sorted(set(map(str, helm)) - _HELM_KEYS)
    if unknown:
        raise _problem(
            source,
            None,
            f"{at}.{unknown[0]}",
            f"unknown key (allowed: {', '.join(sorted(_HELM_KEYS))})",
            _SPEC_HINT,
        )
    for key in ("chart", "repo", "chartContent", "version", "targetNamespace", "valuesContent"):
        if key in helm and not isinstance(helm[key], str):
            raise _problem(
                source,
                None,
                f"{at}.{key}",
                f"must be text, got {type(helm[key]).__name__} {helm[key]!r}"
                + (" (quote it in YAML)" if key == "version" else ""),
                _SPEC_HINT,
            )
    spec: dict[str, Any] = {}
    sources = [Path(source).name]
    if "chartContent" in helm:
        if "chart" in helm or "repo" in helm:
            raise _problem(
                source, None, at, "give either chart (+ repo) or chartContent, not both", ""
            )
        spec["chartContent"] = _chart_archive(source, f"{at}.chartContent", helm, base)
        sources.append(helm["chartContent"])
    elif "chart" in helm:
        spec["chart"] = helm["chart"]
        if "repo" in helm:
            if not re.fullmatch(r"(https?|oci)://\S+", helm["repo"]):
                raise _problem(
                    source, None, f"{at}.repo", f"{helm['repo']!r} is not an http(s) URL", ""
                )
            spec["repo"] = helm["repo"]
        elif "/" not in helm["chart"]:
            raise _problem(
                source,
                None,
                f"{at}.repo",
                f"required: chart {helm['chart']!r} names no repository",
                "Add repo: URL, give chart as a URL or oci:// reference, or use chartContent.",
            )
    else:
        raise _problem(source, None, f"{at}.chart", "required (or chartContent)", _SPEC_HINT)
    if "version" in helm:
        spec["version"] = helm["version"]
    namespace = helm.get("targetNamespace", "default")
    problem = check_name(namespace)
    if problem:
        raise _problem(source, None, f"{at}.targetNamespace", problem, _SPEC_HINT)
    spec["targetNamespace"] = namespace
    if "createNamespace" in helm:
        if not isinstance(helm["createNamespace"], bool):
            raise _problem(
                source, None, f"{at}.createNamespace", "must be true or false", _SPEC_HINT
            )
        spec["createNamespace"] = helm["createNamespace"]
    if "values" in helm and "valuesContent" in helm:
        raise _problem(
            source, None, at, "give either values or valuesContent, not both", _SPEC_HINT
        )
    if "values" in helm:
        if not isinstance(helm["values"], dict):
            raise _problem(source, None, f"{at}.values", "must be a mapping", _SPEC_HINT)
        if helm["values"]:
            spec["valuesContent"] = yaml.safe_dump(helm["values"], sort_keys=False)
    elif "valuesContent" in helm:
        try:
            values = yaml.safe_load(helm["valuesContent"])
        except yaml.YAMLError as exc:
            raise _problem(
                source, None, f"{at}.valuesContent", f"not valid YAML: {_yaml_error(exc)}", ""
            ) from None
        if values is not None and not isinstance(values, dict):
            raise _problem(
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
        raise _problem(
            source, None, at, f"{entry} does not exist (relative to the spec)", _SPEC_HINT
        )
    data = path.read_bytes()
    try:
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
            names = tar.getnames()
    except (tarfile.TarError, OSError, EOFError):
        raise _problem(
            source,
            None,
            at,
            f"{entry} is not a packaged Helm chart (.tgz)",
            "Make it with `helm package DIR`.",
        ) from None
    if not any(n.count("/") == 1 and n.endswith("/Chart.yaml") for n in names):
        raise _problem(
            source,
            None,
            at,
            f"{entry} has no <chart>/Chart.yaml: not a packaged Helm chart",
            "Make it with `helm package DIR`.",
        )
    return base64.b64encode(data).decode()


# ----------------------------------------------------------------------------- objects


def _check_object(
    shown: str, index: int, doc: dict[str, Any], kube_version: str, warnings: list[str]
) -> ObjectRef:
    for key in ("apiVersion", "kind"):
        if key not in doc:
            raise _problem(shown, index, key, "required", _MANIFEST_HINT)
        if not isinstance(doc[key], str) or not doc[key]:
            raise _problem(shown, index, key, "must be non-empty text", _MANIFEST_HINT)
    meta = doc.get("metadata")
    if not isinstance(meta, dict):
        raise _problem(shown, index, "metadata", "required (a mapping with name)", _SPEC_HINT)
    if "name" not in meta:
        fld = "metadata.name"
        msg = "required" + (" (generateName is not supported)" if "generateName" in meta else "")
        raise _problem(shown, index, fld, msg, _MANIFEST_HINT)
    name = meta["name"]
    if not isinstance(name, str) or not _SUBDOMAIN.fullmatch(name) or len(name) > 253:
        raise _problem(
            shown,
            index,
            "metadata.name",
            f"{name!r} is not a valid Kubernetes name (DNS-1123: lower-case letters, "
            "digits, '-' and '.')",
            _MANIFEST_HINT,
        )
    namespace = meta.get("namespace")
    if namespace is not None and (not isinstance(namespace, str) or check_name(namespace)):
        raise _problem(
            shown,
            index,
            "metadata.namespace",
            f"{namespace!r} is not a valid namespace name",
            _MANIFEST_HINT,
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
            raise _problem(
                shown, index, _path_text(list(err.path)) or None, err.message, _MANIFEST_HINT
            )
        return
    try:
        kv.validate(doc, kube_version, strict=True)
    except kv.ValidationError as exc:
        raise _problem(
            shown,
            index,
            _path_text(list(exc.path)) or None,
            f"{exc.message} (schema of Kubernetes {exc.version})",
            _MANIFEST_HINT,
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


# ----------------------------------------------------------------------------- plan


def playbook_vars(rendered: Rendered, *, prune: bool) -> dict[str, Any]:
    """The variables the k3s_workloads role gets, through a vars file in the run's dir.

    ``pi_k8s.deploy`` adds ``k3s_workloads_report_dir``, a directory in the run's dir.
    """
    return {
        "k3s_workloads_items": [{"name": w.name, "content": w.content} for w in rendered.workloads],
        "k3s_workloads_prune": prune,
    }


# What `deploy --check` shows instead of a Secret's values: which keys are added, changed
# or removed stays visible, the values never are.
SECRET_HIDDEN = "(hidden)"
SECRET_OLD = "(hidden, old value)"
SECRET_NEW = "(hidden, new value)"
_SECRET_FIELDS = ("data", "stringData")
_UNREADABLE = "# (not valid YAML; not shown, as it may hold a Secret)\n"


def _is_secret(doc: Any) -> bool:
    return isinstance(doc, dict) and doc.get("kind") == "Secret"


def _secret_id(doc: dict[str, Any]) -> tuple[str, str]:
    meta = doc.get("metadata")
    meta = meta if isinstance(meta, dict) else {}
    return str(meta.get("namespace") or ""), str(meta.get("name") or "")


def _hide_values(doc: dict[str, Any], other: dict[str, Any] | None, changed: str) -> dict[str, Any]:
    """``doc`` with its data/stringData values replaced: ``changed`` where ``other`` differs."""
    out = dict(doc)
    for fld in _SECRET_FIELDS:
        if fld not in doc:
            continue
        values = doc[fld]
        theirs = other.get(fld) if other is not None else None
        if not isinstance(values, dict):
            out[fld] = SECRET_HIDDEN
            continue
        out[fld] = {
            key: changed
            if isinstance(theirs, dict) and key in theirs and theirs[key] != value
            else SECRET_HIDDEN
            for key, value in values.items()
        }
    return out


def hide_secrets(before: str, after: str) -> tuple[str, str]:
    """Two versions of a pi-k8s file, as a diff may show them: Secret values replaced.

    Files without a Secret come back unchanged. Otherwise both are dumped again the way
    pi-k8s renders (so only the values differ from the files), each Secret value replaced
    by ``SECRET_HIDDEN``, or by ``SECRET_OLD``/``SECRET_NEW`` where the same Secret's key
    has another value on the other side. A side that is not valid YAML is not shown.
    """
    docs: list[list[Any] | None] = []
    for text in (before, after):
        try:
            docs.append(list(yaml.safe_load_all(text)))
        except yaml.YAMLError:
            docs.append(None)
    old, new = docs
    if old is not None and new is not None and not any(map(_is_secret, old + new)):
        return before, after
    old_secrets = {_secret_id(d): d for d in old or [] if _is_secret(d)}
    new_secrets = {_secret_id(d): d for d in new or [] if _is_secret(d)}

    def shown(text: str, side: list[Any] | None, others: dict[Any, Any], changed: str) -> str:
        if side is None:
            return _UNREADABLE
        if not side:
            return text
        hidden = [
            _hide_values(d, others.get(_secret_id(d)), changed) if _is_secret(d) else d
            for d in side
        ]
        lines = text.splitlines(keepends=True)
        header = "".join(itertools.takewhile(lambda line: line.startswith("#"), lines))
        return header + yaml.dump_all(hidden, Dumper=_Dumper, sort_keys=False, explicit_start=True)

    return (
        shown(before, old, new_secrets, SECRET_OLD),
        shown(after, new, old_secrets, SECRET_NEW),
    )


def _diff(before: str, after: str, fromfile: str, tofile: str) -> str:
    before, after = hide_secrets(before, after)
    return "".join(
        difflib.unified_diff(
            before.splitlines(keepends=True),
            after.splitlines(keepends=True),
            fromfile=fromfile,
            tofile=tofile,
        )
    )


def plan(
    rendered: Rendered, current: dict[str, dict[str, str]], *, prune: bool
) -> list[WorkloadChange]:
    """Compare rendered files with ``current`` ({host: {filename: content}} read on the servers).

    One entry per workload and per pi-k8s file on a server that the spec no longer has
    (``removed`` with --prune, ``stale`` without). Hosts are listed where the action applies.
    Diffs show Secrets' keys, never their values (``hide_secrets``).
    """
    changes: list[WorkloadChange] = []
    hosts = sorted(current)
    for w in rendered.workloads:
        added = [h for h in hosts if w.filename not in current[h]]
        changed = [
            h for h in hosts if w.filename in current[h] and current[h][w.filename] != w.content
        ]
        diff = ""
        first = (changed or added or [None])[0]
        if first is not None:
            before = current[first].get(w.filename, "")
            diff = _diff(
                before,
                w.content,
                f"{first}:{w.filename}" if before else "/dev/null",
                f"rendered:{w.filename}",
            )
        if changed:
            changes.append(WorkloadChange(w.name, w.filename, "changed", changed, diff))
        if added:
            changes.append(WorkloadChange(w.name, w.filename, "added", added, diff))
        if not changed and not added:
            changes.append(WorkloadChange(w.name, w.filename, "unchanged", hosts))
    wanted = {w.filename for w in rendered.workloads}
    extra: dict[str, list[str]] = {}
    for h in hosts:
        for filename in current[h]:
            if filename not in wanted:
                extra.setdefault(filename, []).append(h)
    for filename, on in sorted(extra.items()):
        name = filename.removeprefix(FILE_PREFIX).removesuffix(".yaml")
        before = current[on[0]][filename]
        diff = _diff(before, "", f"{on[0]}:{filename}", "/dev/null")
        changes.append(WorkloadChange(name, filename, "removed" if prune else "stale", on, diff))
    return changes
