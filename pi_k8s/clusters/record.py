"""An inventory and a finished run → the cluster's state; the members' stability rules.

A member keeps its role and its order for as long as it is a member: the first server
(order 1) started the cluster and every other node joins through it. An inventory that
would change either is refused before Ansible runs (``check_membership``); hosts new to
the cluster get the next orders, servers before agents, in inventory order.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pi_k8s.ansible_vars import AnsibleInventory
from pi_k8s.clusters.model import ClusterState, K3sRelease, Member, Run
from pi_k8s.errors import SpecError

DEFAULT_NAME = "pi-k8s"  # the roles' default when an inventory sets no cluster_name


def now() -> str:
    return datetime.now(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def inventory_cluster_name(inv: AnsibleInventory) -> str:
    """The cluster_name the inventory gives its hosts (the roles' default when unset)."""
    names = {str(v.get("cluster_name") or DEFAULT_NAME) for v in inv.hostvars.values()}
    return sorted(names)[0]


def roles_in(inv: AnsibleInventory) -> dict[str, str]:
    """host → server/agent, servers first, each group in inventory order."""
    out = {h: "server" for h in inv.groups.get("server", [])}
    out.update({h: "agent" for h in inv.groups.get("agent", []) if h not in out})
    return out


def check_membership(previous: ClusterState | None, inv: AnsibleInventory, source: Path) -> None:
    """SpecError when the inventory would change a member's role or the first server."""
    if previous is None:
        return
    roles = roles_in(inv)
    changed = [
        f"{m.hostname} is {_a(m.role)} of cluster {previous.name!r}, the inventory makes it "
        f"{_a(roles[m.hostname])}"
        for m in previous.members
        if m.hostname in roles and roles[m.hostname] != m.role
    ]
    if changed:
        raise SpecError(
            f"{source}: {'; '.join(changed)}.",
            hint="A member keeps its role: remove it with `pi-k8s nodes remove NODE`, then "
            "add it again with `pi-k8s nodes add NODE --role ROLE`.",
        )
    first = previous.servers[0].hostname if previous.servers else None
    servers = inv.groups.get("server", [])
    if first and first in roles and servers and servers[0] != first:
        raise SpecError(
            f"{source}: the first server of cluster {previous.name!r} is {first}, the "
            f"inventory lists {servers[0]} first.",
            hint=f"Keep {first} first in the server group: the other nodes join through it.",
        )


def update_state(
    previous: ClusterState | None,
    inv: AnsibleInventory,
    inventory: Path,
    *,
    release: K3sRelease,
    run: Run,
) -> ClusterState:
    """The state after a successful run over ``inventory``: members kept in their order,
    new hosts appended, hosts no longer in the inventory dropped."""
    roles = roles_in(inv)
    old = {m.hostname: m for m in previous.members} if previous else {}
    members = [old[h] for h in roles if h in old]
    next_order = max((m.order for m in members), default=0) + 1
    for host, role in roles.items():
        if host in old:
            _refresh(old[host], inv.hostvars[host])
            continue
        members.append(_member(host, role, next_order, inv.hostvars[host]))
        next_order += 1
    members.sort(key=lambda m: m.order)
    servers = [m for m in members if m.role == "server"]
    first_vars = inv.hostvars[servers[0].hostname] if servers else {}
    state = ClusterState(
        name=inventory_cluster_name(inv),
        api_endpoint=api_endpoint(
            first_vars, (servers[0].ip or servers[0].hostname) if servers else None
        ),
        k3s=release,
        datastore=_datastore(first_vars, len(servers)),
        inventory=str(inventory.resolve()),
        members=members,
        runs=list(previous.runs) if previous else [],
    )
    state.add_run(run)
    return state


def release_of(inv: AnsibleInventory, extravars: Mapping[str, Any]) -> K3sRelease:
    """The k3s release a run installed: the run's flags over the inventory's variables."""
    hv = next(iter(inv.hostvars.values()), {})
    merged = {**hv, **extravars}
    version = merged.get("cluster_k3s_version") or None
    # A pinned version with a channel: the version that channel resolved to (upgrade).
    channel = merged.get("cluster_k3s_channel") or (None if version else "stable")
    source = merged.get("cluster_k3s_source") or "release"
    location = {"airgap": "cluster_k3s_airgap_dir", "mirror": "cluster_k3s_mirror_url"}.get(source)
    return K3sRelease(
        version=version,
        channel=channel,
        source=source,
        location=str(merged[location]) if location and merged.get(location) else None,
    )


def _member(host: str, role: str, order: int, hv: Mapping[str, Any]) -> Member:
    return Member(
        hostname=host,
        ip=_str(hv.get("pi_k8s_ip") or hv.get("ansible_host")),
        mac=_str(hv.get("pi_k8s_mac")),
        board=_str(hv.get("pi_k8s_model")),
        role="server" if role == "server" else "agent",
        order=order,
        joined=now(),
    )


def _refresh(member: Member, hv: Mapping[str, Any]) -> None:
    """A member's address or board may change (DHCP, a moved SD card); role and order not."""
    member.ip = _str(hv.get("pi_k8s_ip") or hv.get("ansible_host")) or member.ip
    member.mac = _str(hv.get("pi_k8s_mac")) or member.mac
    member.board = _str(hv.get("pi_k8s_model")) or member.board


def api_endpoint(hv: Mapping[str, Any], first_address: str | None) -> str:
    """``https://ADDRESS:6443``: the inventory's cluster_api_endpoint or cluster_api_vip
    (``hv``: the first server's variables), else the first server's address."""
    for key in ("cluster_api_endpoint", "cluster_api_vip"):
        if hv.get(key):
            return f"https://{hv[key]}:6443"
    return f"https://{first_address or '127.0.0.1'}:6443"


def _datastore(hv: Mapping[str, Any], servers: int) -> str:
    embedded = hv.get("k3s_server_embedded_etcd", True)
    if isinstance(embedded, str):
        embedded = embedded.strip().lower() in ("1", "true", "yes", "on")
    return "etcd" if embedded or servers > 1 else "sqlite"


def _a(role: str) -> str:
    return f"an {role}" if role == "agent" else f"a {role}"


def _str(value: Any) -> str | None:
    return str(value) if value not in (None, "") else None
