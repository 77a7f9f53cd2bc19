"""Servers and agents: the hardware ranking, the RAM floor, and the reason for each role."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from pi_k8s.inventory.decisions import RoleDecision
from pi_k8s.models import PiHost
from pi_k8s.spec import ClusterSpec, HostOverride, spec_problem

# k3s needs 2 GB on a server (requirements.md). When discovery decoded the board's RAM
# from its revision code (board_memory_mb), a server needs a 2048 MB board. Otherwise
# only MemTotal is known: a 2 GB board reports about 1.8-1.9 GB (the firmware keeps
# the GPU's share) and a 1 GB board about 0.9 GB, so the cut is 1536 MB of MemTotal.
SERVER_MIN_BOARD_MB = 2048
SERVER_MIN_MEMORY_MB = 1536
# Root devices that stand up to etcd's writes; SD cards and eMMC do not (k3s docs).
FAST_ROOTS = ("nvme", "ssd", "usb")


def _rank_key(h: PiHost) -> tuple[int, int, int, str, tuple[int, ...]]:
    mac = (h.mac or "").lower().replace("-", ":")
    return (
        -(h.memory_mb or 0),
        0 if h.userland_arch == "arm64" else 1,
        0 if h.root_kind in FAST_ROOTS else 1,
        mac or "~",  # hosts without a MAC sort after those with one
        tuple(int(p) for p in h.ip.split(".")),
    )


def _facts(h: PiHost) -> str:
    mem = f"{h.memory_mb} MB" if h.memory_mb else "memory unknown"
    return f"{mem}, {h.userland_arch or 'userland unknown'}, {h.root_kind or 'unknown'} root"


def _behind(a: PiHost, b: PiHost) -> str:
    """Which criterion ranks `a` behind `b`."""
    ka, kb = _rank_key(a), _rank_key(b)
    if ka[0] != kb[0]:
        return f"less RAM than {b.hostname} ({a.memory_mb or 0} < {b.memory_mb} MB)"
    if ka[1] != kb[1]:
        return f"32-bit userland ({a.userland_arch or 'unknown'}) where {b.hostname} is arm64"
    if ka[2] != kb[2]:
        return f"{a.root_kind or 'unknown'} root where {b.hostname} boots from {b.root_kind}"
    return f"same hardware as {b.hostname}, later in MAC order"


def choose_roles(
    spec: ClusterSpec,
    selected: Sequence[PiHost],
    overrides: dict[str, tuple[str, HostOverride]],
    members: Mapping[str, tuple[str, int]] | None = None,
    warnings: list[str] | None = None,
) -> list[RoleDecision]:
    """Roles for ``selected``. ``members`` (hostname → role and order in the cluster's
    state) keep their role and come first in their order; overrides cannot move them."""
    members = members or {}

    def forced(h: PiHost) -> str | None:
        if str(h.hostname) in members:
            return members[str(h.hostname)][0]
        entry = overrides.get(str(h.hostname))
        return entry[1].role if entry else None

    def by(h: PiHost) -> str:
        if str(h.hostname) in members:
            return f"membership (joined as number {members[str(h.hostname)][1]})"
        return f"overrides[{overrides[str(h.hostname)][0]!r}]"

    for name, (sel, override) in overrides.items():
        if name in members and override.role and override.role != members[name][0]:
            (warnings if warnings is not None else []).append(
                f"overrides[{sel!r}] role: {override.role} is ignored: {name} is "
                f"{_a(members[name][0])} of the cluster (remove it with `pi-k8s nodes remove` "
                "first)."
            )
    member_servers = [h for h in selected if members.get(str(h.hostname), ("",))[0] == "server"]
    forced_servers = [h for h in selected if forced(h) == "server"]
    if len(member_servers) > spec.servers and warnings is not None:
        warnings.append(
            f"servers: {spec.servers} requested, but the cluster already has "
            f"{len(member_servers)} servers; they stay servers."
        )
    if len(forced_servers) - len(member_servers) > max(0, spec.servers - len(member_servers)):
        names = ", ".join(str(h.hostname) for h in forced_servers)
        raise spec_problem(
            spec,
            "servers",
            f"{spec.servers} requested, but overrides force {len(forced_servers)} servers "
            f"({names}).",
            hint="Raise servers (to an odd number) or drop a role: server override.",
        )
    free = [h for h in selected if forced(h) is None]
    eligible = sorted((h for h in free if too_small_for_server(h) is None), key=_rank_key)
    need = max(0, spec.servers - len(forced_servers))
    if len(eligible) < need:
        why = [
            f"{h.hostname}: {_ineligible(h, forced(h), by)}"
            for h in selected
            if h not in eligible and h not in forced_servers
        ]
        raise spec_problem(
            spec,
            "servers",
            f"{spec.servers} requested, but only {len(eligible) + len(forced_servers)} of "
            f"{len(selected)} selected hosts can be servers"
            + (f" ({'; '.join(why)})" if why else "")
            + ".",
            hint="Lower servers, add Pis with at least 2 GB of RAM, or force one with "
            "overrides: {HOST: {role: server}}.",
        )
    chosen = eligible[:need]

    def place(d: RoleDecision) -> tuple[int, Any]:
        """Members first, in the order they joined; then the others by rank."""
        member = members.get(str(d.host.hostname))
        return (0, member[1]) if member else (1, _rank_key(d.host))

    out: list[RoleDecision] = []
    for h in sorted(forced_servers, key=_rank_key):
        out.append(RoleDecision(h, "server", f"forced by {by(h)} ({_facts(h)})"))
    for i, h in enumerate(chosen, 1):
        reason = f"ranked {i} of {len(eligible)} eligible ({_facts(h)})"
        out.append(RoleDecision(h, "server", reason))
    # The cluster-init server and the API endpoint: the first member, else the best-ranked.
    out.sort(key=place)
    last_server = chosen[-1] if chosen else None
    agents: list[RoleDecision] = []
    for h in selected:
        if h in forced_servers or h in chosen:
            continue
        role = forced(h)
        if role == "agent":
            reason = f"forced by {by(h)}"
        elif h not in eligible:
            reason = _ineligible(h, None, by)
        elif last_server is None:
            reason = f"servers: {spec.servers} all taken by overrides"
        else:
            rank = eligible.index(h) + 1
            reason = f"ranked {rank} of {len(eligible)} eligible: {_behind(h, last_server)}"
        agents.append(RoleDecision(h, "agent", reason))
    agents.sort(key=place)
    return out + agents


def too_small_for_server(h: PiHost) -> str | None:
    """Why a host has too little RAM to be a server, or None if it has enough."""
    board = h.board_memory_mb
    if board is not None:
        if board < SERVER_MIN_BOARD_MB:
            return f"{board} MB board < 2 GB: never a server unless forced"
        return None
    if h.memory_mb is None:
        return "memory unknown: never a server unless forced"
    if h.memory_mb < SERVER_MIN_MEMORY_MB:
        return f"{h.memory_mb} MB < 2 GB: never a server unless forced"
    return None


def _ineligible(h: PiHost, role: str | None, by: Any) -> str:
    if role == "agent":
        return f"forced agent by {by(h)}"
    return too_small_for_server(h) or "not eligible"


def _a(role: str) -> str:
    return f"an {role}" if role[0] in "aeiou" else f"a {role}"
