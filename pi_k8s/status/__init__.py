"""The cluster at a glance: the job of `pi-k8s status`.

One pass, everything in parallel: each inventory host's one SSH round trip
(``hosts``: Pi model, temperature, throttling, disk, uptime, and on servers the API's
node list through `k3s kubectl`), and each server's API port pinged from the controller
(``api``). No Ansible facts are gathered. ``model`` holds the report and its JSON
Schema; ``probe`` the script and its pure parser. Nothing here prints; a host that
cannot be read is a row that says so, never an error.
"""

from __future__ import annotations

import time
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

from pi_k8s.ansible_vars import AnsibleInventory
from pi_k8s.clusters import ClusterState
from pi_k8s.clusters.record import api_endpoint, inventory_cluster_name, now, roles_in
from pi_k8s.errors import SpecError
from pi_k8s.status import api, hosts
from pi_k8s.status.model import (
    NOT_REGISTERED,
    ApiStatus,
    HostFacts,
    NodeRow,
    ServerAnswer,
    StatusReport,
)
from pi_k8s.verify.model import NodeStatus
from pi_k8s.verify.parsers import parse_nodes

__all__ = ["RUNS_SHOWN", "StatusReport", "gather"]

RUNS_SHOWN = 5  # the newest runs of cluster.json shown


def gather(inv: AnsibleInventory, state: ClusterState | None, inventory: Path) -> StatusReport:
    """Read every host of ``inv`` and the API once; ``state`` is cluster.json (None when
    pi-k8s has no record of the cluster). SpecError when the inventory has no k3s hosts."""
    started = time.monotonic()
    roles = roles_in(inv)
    if not roles:
        raise SpecError(
            f"{inventory}: no hosts in group 'server' or 'agent'.",
            hint="A k3s inventory has a 'server' group (and optionally 'agent').",
        )
    order = _host_order(roles, state)
    servers = [h for h in order if roles[h] == "server"]
    address = {h: str(inv.hostvars[h].get("ansible_host") or h) for h in order}
    endpoint = _endpoint(inv, state, servers, address)
    at = api.endpoint_address(endpoint) if endpoint else None
    endpoint_is = next((h for h in servers if at and address[h] == at[0]), None)
    config = hosts.ansible_config()
    with ThreadPoolExecutor(max_workers=min(32, 2 * len(order) + 1)) as pool:
        facts = {
            h: pool.submit(
                hosts.read_host, h, inv.hostvars[h], server=roles[h] == "server", config=config
            )
            for h in order
        }
        pings = {h: pool.submit(api.ping, address[h]) for h in servers}
        endpoint_ping = pool.submit(api.ping, *at) if at and endpoint_is is None else None
        results = {h: _outcome(f) for h, f in facts.items()}
        answers = [ServerAnswer(h, address[h], *pings[h].result()) for h in servers]
    api_status = _api_status(endpoint, endpoint_is, endpoint_ping, answers, results, servers)
    listed = _node_list(api_status, results, servers)
    rows = [_row(h, roles[h], address[h], state, results[h], listed) for h in order]
    rows += [_api_only(node) for name, node in (listed or {}).items() if name not in roles]
    name = state.name if state else inventory_cluster_name(inv)
    notes = []
    if state is None:
        notes.append(
            f"pi-k8s has no record of cluster {name!r} (no cluster.json): roles come from the "
            "inventory; no runs and no joined dates."
        )
    return StatusReport(
        cluster=name,
        remembered=state is not None,
        inventory=str(inventory.resolve()),
        checked_at=now(),
        seconds=round(time.monotonic() - started, 2),
        k3s=_release(state),
        datastore=state.datastore if state else None,
        api=api_status,
        nodes=rows,
        runs=[r.__dict__.copy() for r in reversed(state.runs[-RUNS_SHOWN:])] if state else [],
        notes=notes,
    )


def _release(state: ClusterState | None) -> dict[str, Any] | None:
    """cluster.json's k3s release: version, channel, source (not where it came from)."""
    if state is None:
        return None
    return {"version": state.k3s.version, "channel": state.k3s.channel, "source": state.k3s.source}


def _endpoint(
    inv: AnsibleInventory, state: ClusterState | None, servers: list[str], address: dict[str, str]
) -> str:
    """cluster.json's API endpoint; for a cluster pi-k8s does not remember, the one
    bootstrap would record from the inventory ("" when it has no server)."""
    if state is not None:
        return state.api_endpoint
    if not servers:
        return ""
    return api_endpoint(inv.hostvars[servers[0]], address[servers[0]])


def _host_order(roles: dict[str, str], state: ClusterState | None) -> list[str]:
    """Members in their cluster.json order, then the inventory's other hosts."""
    members = [m.hostname for m in sorted(state.members, key=lambda m: m.order)] if state else []
    known = [h for h in members if h in roles]
    return known + [h for h in roles if h not in known]


def _outcome(future: Future[HostFacts]) -> HostFacts | str:
    """The host's facts, or the one-line reason it could not be read."""
    try:
        return future.result()
    except hosts.HostUnreadable as exc:
        return str(exc)
    except Exception as exc:  # one host's surprise is that host's row, never the report's
        return f"{type(exc).__name__}: {exc}".splitlines()[0][:200]


def _api_status(
    endpoint: str,
    endpoint_is: str | None,
    endpoint_ping: Future[tuple[bool, str]] | None,
    answers: list[ServerAnswer],
    results: dict[str, HostFacts | str],
    servers: list[str],
) -> ApiStatus:
    if endpoint_ping is not None:
        ok, detail = endpoint_ping.result()
        detail += "" if not ok else " (not a server's address: a VIP or load balancer)"
    elif endpoint_is is not None:
        mine = next(a for a in answers if a.hostname == endpoint_is)
        ok, detail = mine.answers, mine.detail
    else:
        ok, detail = False, "no server in the inventory"
    status = ApiStatus(
        endpoint=endpoint,
        answers=ok,
        answered_by=endpoint_is if ok else None,
        detail=detail,
        servers=answers,
    )
    errors = []
    for h in servers:
        got = results[h]
        if isinstance(got, str):
            errors.append(f"{h}: unreachable ({got})")
        elif got.node_list and got.node_list[0] == 0:
            status.node_list_from = h
            break
        elif got.node_list:
            lines = got.node_list[1].strip().splitlines() or [f"exit code {got.node_list[0]}"]
            errors.append(f"{h}: {lines[-1][:200]}")
    if status.node_list_from is None:
        status.node_list_error = "; ".join(errors) or "no server to ask"
    return status


def _node_list(
    status: ApiStatus, results: dict[str, HostFacts | str], servers: list[str]
) -> dict[str, NodeStatus] | None:
    """The API's nodes by name, from the first server whose kubectl answered."""
    source = status.node_list_from
    if source is None:
        return None
    facts = results[source]
    assert isinstance(facts, HostFacts) and facts.node_list is not None
    try:
        return {n.name: n for n in parse_nodes(facts.node_list[1])}
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        status.node_list_from = None
        status.node_list_error = f"{source}: kubectl printed no node list ({exc})"[:200]
        return None


def _row(
    name: str,
    role: str,
    address: str,
    state: ClusterState | None,
    got: HostFacts | str,
    listed: dict[str, NodeStatus] | None,
) -> NodeRow:
    member = state.member(name) if state else None
    row = NodeRow(
        hostname=name,
        role=member.role if member else role,
        address=address,
        joined=member.joined if member else None,
        reachable=not isinstance(got, str),
    )
    if isinstance(got, str):
        row.error = got
    else:
        row.pi_model = got.pi_model
        row.temperature_c = got.temperature_c
        row.throttling = got.throttling
        row.disks = got.disks
        row.uptime_s = got.uptime_s
    _api_fields(row, listed)
    return row


def _api_only(node: NodeStatus) -> NodeRow:
    """A node the API lists that the inventory does not have: not probed."""
    row = NodeRow(
        hostname=node.name,
        role="server" if {"control-plane", "master"} & set(node.roles) else "agent",
        address=node.internal_ip,
        joined=None,
        reachable=None,
        error="not in the inventory: not probed",
    )
    _api_fields(row, {node.name: node})
    return row


def _api_fields(row: NodeRow, listed: dict[str, NodeStatus] | None) -> None:
    if listed is None:
        return
    node = listed.get(row.hostname)
    if node is None:
        row.ready = NOT_REGISTERED
        return
    row.k3s_version = node.kubelet_version or None
    row.ready, row.ready_reason = node.ready, node.reason or None
