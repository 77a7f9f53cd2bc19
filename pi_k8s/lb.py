"""LoadBalancer Services on the LAN: the pool's checks and MetalLB's objects, offline.

``cluster_lb`` picks who answers for LoadBalancer Services: ``servicelb`` (k3s's built-in,
the default), which has no address pool of its own (it answers on the nodes' addresses),
or ``metallb``, which hands out ``cluster_lb_pool`` (a CIDR or ``FIRST-LAST``). The pool
must be outside every member's address, the API VIP and ``cluster_dhcp_range``.

For ``metallb`` pi-k8s renders what k3s needs: ``disable: [servicelb]`` for the
servers' config.yaml (``METALLB_K3S_CONFIG``), a ``HelmChart`` (helm.cattle.io/v1)
installing MetalLB's chart, and an ``IPAddressPool`` and an ``L2Advertisement``
(metallb.io/v1beta1) for the pool. Each object is validated offline: the HelmChart
against pi_k8s.workloads.objects.HELMCHART_SCHEMA, MetalLB's objects against MetalLB's
own CRD schemas shipped in ``pi_k8s/data/metallb_crd_schemas.json`` (their version,
commit and source files are in that file's ``source``); ``check_inventory`` renders and
validates them for a metallb pool. roles/k3s_lb places the same objects on the first
server (k3s's auto-deploy manifests directory) and roles/k3s_server adds the
``disable: [servicelb]``; ``spec_problem`` is the same set of rules for cluster.yaml.
The chart comes from MetalLB's repository, or, given a chart archive (``.tgz``), inline
as the HelmChart's ``chartContent`` (base64; k3s docs, "Helm": chartContent overrides
chart).
"""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Mapping, Sequence
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from pi_k8s.errors import SpecError
from pi_k8s.vip import DHCP_VAR, parse_range

POOL_VAR = "cluster_lb_pool"
LB_VAR = "cluster_lb"
NODES_VAR = "cluster_lb_nodes"
# With this label on one or more nodes, servicelb runs only on those (k3s docs, "Networking
# Services": Controlling ServiceLB Node Selection); roles/k3s_install sets it through node-label.
ENABLE_LABEL = "svccontroller.k3s.cattle.io/enablelb"
LBS = ("servicelb", "metallb")
METALLB_NAMESPACE = "metallb-system"
# MetalLB's chart repository and the chart release matching the shipped CRD schemas.
METALLB_CHART_REPO = "https://metallb.github.io/metallb"
METALLB_CHART_VERSION = "0.16.1"
POOL_NAME = "pi-k8s-pool"

Range = tuple[ipaddress.IPv4Address, ipaddress.IPv4Address]


def parse_pool(text: str) -> Range:
    """A CIDR (``192.168.1.240/28``) or ``FIRST-LAST`` → (first, last); ValueError else."""
    if "/" in text:
        net = ipaddress.IPv4Network(text.strip(), strict=True)
        return net[0], net[-1]
    return parse_range(text)


def _overlap(a: Range, b: Range) -> bool:
    return a[0] <= b[1] and b[0] <= a[1]


def _one(hostvars: Mapping[str, Mapping[str, Any]], var: str) -> str | None:
    values = sorted({str(hv[var]) for hv in hostvars.values() if hv.get(var)})
    return values[0] if values else None


def check_inventory(
    inventory: Path, hostvars: Mapping[str, Mapping[str, Any]], vip: str | None
) -> tuple[str, str | None]:
    """(cluster_lb, the pool or None); SpecError (exit 3) for a pool that cannot work."""
    lb = _one(hostvars, LB_VAR) or "servicelb"
    pool = _one(hostvars, POOL_VAR)
    if lb not in LBS:
        raise SpecError(
            f"{inventory}: {LB_VAR} {lb!r} is neither servicelb nor metallb.",
            hint=f"Set {LB_VAR}: servicelb (k3s's built-in) or {LB_VAR}: metallb (with a pool).",
        )
    _check_nodes(inventory, hostvars, lb)
    if pool is None:
        if lb == "metallb":
            raise SpecError(
                f"{inventory}: {LB_VAR} metallb needs {POOL_VAR}.",
                hint=f"Give the addresses MetalLB hands out, e.g. {POOL_VAR}: "
                "192.168.1.240-192.168.1.249 (or a CIDR).",
            )
        return lb, None
    if lb == "servicelb":
        raise SpecError(
            f"{inventory}: {POOL_VAR} {pool} is set but {LB_VAR} is servicelb: k3s's "
            "servicelb has no address pool, it answers on the nodes' own addresses.",
            hint=f"Set {LB_VAR}: metallb to hand out the pool, or remove {POOL_VAR} "
            f"(servicelb answers on the nodes {NODES_VAR} lists, else on every node).",
        )
    try:
        span = parse_pool(pool)
    except ValueError as exc:
        raise SpecError(
            f"{inventory}: {POOL_VAR} {pool!r} is not a CIDR or FIRST-LAST ({exc}).",
            hint=f"e.g. {POOL_VAR}: 192.168.1.240/28 or 192.168.1.240-192.168.1.249.",
        ) from None
    members = sorted(
        f"{h} ({hv['ansible_host']})"
        for h, hv in hostvars.items()
        if _is_address(hv.get("ansible_host"))
        and span[0] <= ipaddress.IPv4Address(str(hv["ansible_host"])) <= span[1]
    )
    if members:
        raise SpecError(
            f"{inventory}: {POOL_VAR} {pool} holds the address of {', '.join(members)}.",
            hint="MetalLB would hand a node's address to a Service: pick a pool of free "
            "addresses no host uses.",
        )
    if vip and span[0] <= ipaddress.IPv4Address(vip) <= span[1]:
        raise SpecError(
            f"{inventory}: {POOL_VAR} {pool} overlaps the API VIP {vip}.",
            hint="MetalLB and keepalived would both answer that address: keep the VIP "
            "outside the pool.",
        )
    dhcp = _one(hostvars, DHCP_VAR)
    if dhcp:
        try:
            dspan = parse_range(dhcp)
        except ValueError:
            dspan = None  # pi_k8s.vip reports a malformed range when a VIP is set
        if dspan and _overlap(span, dspan):
            raise SpecError(
                f"{inventory}: {POOL_VAR} {pool} overlaps {DHCP_VAR} {dhcp}.",
                hint="The DHCP server could hand a pool address to another host: keep the "
                "pool outside the DHCP range.",
            )
    problems = validate(render_metallb(pool))
    if problems:
        raise SpecError(
            f"{inventory}: MetalLB's objects for {POOL_VAR} {pool} do not validate: "
            + "; ".join(problems),
            hint="Check cluster_lb_pool's form (a CIDR or FIRST-LAST).",
        )
    return lb, pool


def _check_nodes(inventory: Path, hostvars: Mapping[str, Mapping[str, Any]], lb: str) -> None:
    """``cluster_lb_nodes``: a list of the inventory's hosts, only with servicelb."""
    lists = [hv[NODES_VAR] for hv in hostvars.values() if hv.get(NODES_VAR)]
    if not lists:
        return
    nodes = lists[0]
    if not isinstance(nodes, list) or not all(isinstance(n, str) for n in nodes):
        raise SpecError(
            f"{inventory}: {NODES_VAR} must be a list of inventory hostnames, got {nodes!r}.",
            hint=f"e.g. {NODES_VAR}: [rpi-2, rpi-3]",
        )
    if lb != "servicelb":
        raise SpecError(
            f"{inventory}: {NODES_VAR} chooses servicelb's nodes, but {LB_VAR} is {lb}.",
            hint=f"MetalLB announces its pool from every node: remove {NODES_VAR}.",
        )
    unknown = sorted(set(nodes) - set(hostvars))
    if unknown:
        raise SpecError(
            f"{inventory}: {NODES_VAR} names {', '.join(unknown)}, not a host of the inventory.",
            hint="List hosts by their inventory name (pi-k8s status lists the nodes).",
        )


def spec_problem(
    lb: str, pool: str | None, vip: str | None, subnet: str | None, nodes: Sequence[str] = ()
) -> str | None:
    """What is wrong with cluster.yaml's ``lb``/``lb_pool``/``lb_nodes`` (None when nothing
    is): the rules ``check_inventory`` applies to an inventory, plus ``subnet`` when given."""
    if nodes and lb != "servicelb":
        return (
            f"lb_nodes chooses servicelb's nodes, but lb is {lb}: MetalLB announces its pool "
            "from every node; remove lb_nodes"
        )
    if pool is None:
        needed = lb == "metallb"
        return "lb metallb needs lb_pool (the addresses MetalLB hands out)" if needed else None
    if lb != "metallb":
        return (
            f"lb_pool {pool} is set but lb is servicelb: k3s's servicelb has no address "
            "pool, it answers on the nodes' own addresses; set lb: metallb to hand out the pool"
        )
    try:
        span = parse_pool(pool)
    except ValueError as exc:
        return f"lb_pool {pool!r} is not a CIDR or FIRST-LAST ({exc})"
    if subnet is not None:
        net = ipaddress.IPv4Network(subnet)
        if span[0] not in net or span[1] not in net:
            return f"lb_pool {pool} is not inside subnet {subnet}"
    if vip and span[0] <= ipaddress.IPv4Address(vip) <= span[1]:
        return f"lb_pool {pool} overlaps the API VIP {vip}"
    return None


def _is_address(value: Any) -> bool:
    try:
        ipaddress.IPv4Address(str(value))
    except ValueError:
        return False
    return True


# ---------------------------------------------------------------------------- rendering


# What the servers' config.yaml gains with metallb: MetalLB replaces k3s's servicelb.
METALLB_K3S_CONFIG: dict[str, Any] = {"disable": ["servicelb"]}


def render_metallb(
    pool: str,
    *,
    repo: str = METALLB_CHART_REPO,
    version: str = METALLB_CHART_VERSION,
    chart_content: str = "",
) -> list[dict[str, Any]]:
    """The HelmChart installing MetalLB, and its IPAddressPool and L2Advertisement.

    ``chart_content`` (a chart archive, base64) replaces the repository: the chart then
    travels inside the HelmChart, for a LAN without the internet."""
    first, last = parse_pool(pool)
    addresses = pool.strip() if "/" in pool else f"{first}-{last}"
    source: dict[str, Any] = (
        {"chartContent": chart_content}
        if chart_content
        else {"repo": repo, "chart": "metallb", "version": version}
    )
    return [
        {
            "apiVersion": "helm.cattle.io/v1",
            "kind": "HelmChart",
            "metadata": {"name": "metallb", "namespace": "kube-system"},
            "spec": {
                **source,
                "targetNamespace": METALLB_NAMESPACE,
                "createNamespace": True,
            },
        },
        {
            "apiVersion": "metallb.io/v1beta1",
            "kind": "IPAddressPool",
            "metadata": {"name": POOL_NAME, "namespace": METALLB_NAMESPACE},
            "spec": {"addresses": [addresses]},
        },
        {
            "apiVersion": "metallb.io/v1beta1",
            "kind": "L2Advertisement",
            "metadata": {"name": "pi-k8s-l2", "namespace": METALLB_NAMESPACE},
            "spec": {"ipAddressPools": [POOL_NAME]},
        },
    ]


@cache
def metallb_schemas() -> dict[str, Any]:
    """The shipped CRD schemas and their source (version, commit, files, license)."""
    text = resources.files("pi_k8s").joinpath("data/metallb_crd_schemas.json").read_text()
    data: dict[str, Any] = json.loads(text)
    return data


def validate(docs: list[dict[str, Any]]) -> list[str]:
    """Each object's schema problems, ``"Kind name: path: message"``; empty when valid."""
    import jsonschema

    from pi_k8s.workloads.objects import HELMCHART_SCHEMA

    problems = []
    for doc in docs:
        group_version, kind = doc.get("apiVersion", ""), doc.get("kind", "")
        if (group_version, kind) == ("helm.cattle.io/v1", "HelmChart"):
            schema = HELMCHART_SCHEMA
        else:
            schema = metallb_schemas()["schemas"].get(f"{group_version}/{kind}")
            if schema is None:
                problems.append(f"{kind} ({group_version}): no shipped schema")
                continue
        name = doc.get("metadata", {}).get("name", "?")
        for err in jsonschema.Draft7Validator(schema).iter_errors(doc):
            where = ".".join(map(str, err.path)) or "(object)"
            problems.append(f"{kind} {name}: {where}: {err.message}")
        problems += [f"{kind} {name}: {where}" for where in _unknown_fields(schema, doc, "")]
    return problems


def _unknown_fields(schema: dict[str, Any], value: Any, at: str) -> list[str]:
    """Fields the schema does not know (the API server would drop them, as `kubectl
    --validate=strict` reports): a misspelt field is an error, not a silent no-op."""
    out: list[str] = []
    if isinstance(value, dict) and "properties" in schema:
        if schema.get("x-kubernetes-preserve-unknown-fields") or "additionalProperties" in schema:
            return out
        for key, sub in value.items():
            where = f"{at}.{key}" if at else key
            if key not in schema["properties"]:
                out.append(f"{where}: unknown field")
            else:
                out += _unknown_fields(schema["properties"][key], sub, where)
    elif isinstance(value, list) and isinstance(schema.get("items"), dict):
        for i, item in enumerate(value):
            out += _unknown_fields(schema["items"], item, f"{at}.{i}")
    return out
