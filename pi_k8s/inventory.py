"""Cluster spec + discovered hosts → roles → Ansible inventory dict → YAML file.

`plan_inventory(spec, hosts)` does the work and returns the inventory, why each host
got its role, and warnings; `build_inventory(spec, hosts)` returns just the dict.
Nothing here prints.

Decisions, in order:

1. Selection. With `hosts.include` empty, every host discovery marked `is_pi` (and
   probed over SSH without error) is a candidate; with it set, exactly the included
   hosts are (a non-Pi or unprobed host can join only this way). `hosts.exclude`
   always wins. Selectors match a hostname (case-insensitive, with or without the
   domain), a MAC (case-insensitive) or an IPv4 address.
2. Refusals (SpecError): duplicate hostnames or IPs (k3s node names must be unique),
   armv6 boards (Pi 1 / Zero / Zero W: k3s ships no armv6 build), no hostname.
3. Servers. Overrides force roles first. The remaining server slots go to the
   eligible hosts ranked by: most RAM, then 64-bit userland (arm64) over 32-bit,
   then SSD/NVMe/USB root over SD card, then MAC order (IP when no MAC).
   A host below 2 GB is never chosen (see SERVER_MIN_MEMORY_MB).
4. Subnet. When the spec sets `subnet`, every node must be in it. (`api_vip` and
   `lb_pool` are refused by the spec until a role brings them up; the API endpoint is
   the best-ranked server's address.)
5. Warnings (returned): 32-bit userland mixed with 64-bit, HA servers on SD cards,
   explicitly included hosts whose SSH probe failed, exclude entries and overrides
   matching nothing.
"""

from __future__ import annotations

import ipaddress
import json
import re
import shlex
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import jinja2
import yaml

from pi_k8s import paths
from pi_k8s.errors import SpecError
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
# Pi 1 / Zero / Zero W: BCM2835, ARMv6. Board type names as the revision-code decoder
# and the device tree spell them.
ARMV6_BOARD_TYPES = {
    "a",
    "b",
    "a+",
    "b+",
    "1a",
    "1b",
    "1a+",
    "1b+",
    "cm1",
    "zero",
    "zero w",
    "zerow",
}

Role = Literal["server", "agent", "skipped"]


@dataclass(frozen=True)
class RoleDecision:
    """One discovered host, the role it got, and why (printed by the CLI)."""

    host: PiHost
    role: Role
    reason: str

    @property
    def name(self) -> str:
        return self.host.hostname or self.host.ip


@dataclass
class InventoryPlan:
    """Everything `pi-k8s inventory` shows and writes."""

    inventory: dict[str, Any]
    decisions: list[RoleDecision]
    warnings: list[str] = field(default_factory=list)

    @property
    def servers(self) -> list[RoleDecision]:
        return [d for d in self.decisions if d.role == "server"]

    @property
    def agents(self) -> list[RoleDecision]:
        return [d for d in self.decisions if d.role == "agent"]


# ------------------------------------------------------------------------- public API


def build_inventory(spec: ClusterSpec, hosts: Sequence[PiHost]) -> dict[str, Any]:
    """The Ansible YAML inventory for `spec` over the discovered `hosts`, as data."""
    return plan_inventory(spec, hosts).inventory


def plan_inventory(spec: ClusterSpec, hosts: Sequence[PiHost]) -> InventoryPlan:
    """Select hosts, choose roles, check addresses; raise SpecError on any refusal."""
    warnings: list[str] = []
    selected, skipped = _select(spec, hosts, warnings)
    _refuse_bad_hosts(selected)
    overrides = _match_overrides(spec, hosts, selected, warnings)
    decisions = _choose_roles(spec, selected, overrides)
    _check_addresses(spec, [d.host for d in decisions])
    warnings.extend(_hardware_warnings(spec, decisions))
    data = _inventory_data(spec, decisions, overrides)
    # The table order: servers (first = cluster-init), agents, then skipped hosts.
    ordered = (
        [d for d in decisions if d.role == "server"]
        + [d for d in decisions if d.role == "agent"]
        + skipped
    )
    return InventoryPlan(inventory=data, decisions=ordered, warnings=warnings)


def load_hosts(path: str | Path) -> list[PiHost]:
    """Read `pi-k8s discover --json` output; any problem is a SpecError naming the file."""
    path = Path(path)
    hint = "Write it with `pi-k8s discover --json > discovery.json`, or use --discover."
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SpecError(f"{path}: no such discovery file.", hint=hint) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise SpecError(f"{path}: cannot read the discovery file: {exc}.", hint=hint) from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise SpecError(
            f"{path}: not valid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}.",
            hint=hint,
        ) from None
    if not isinstance(data, list):
        raise SpecError(
            f"{path}: expected a JSON list of hosts, got {type(data).__name__}.", hint=hint
        )
    hosts = []
    for i, item in enumerate(data):
        if not isinstance(item, dict) or not isinstance(item.get("ip"), str):
            raise SpecError(f'{path}: host [{i}] is not an object with an "ip".', hint=hint)
        try:
            ipaddress.IPv4Address(item["ip"])
            hosts.append(PiHost.from_dict(item))
        except (TypeError, ValueError) as exc:
            raise SpecError(f"{path}: host [{i}] ({item['ip']}): {exc}.", hint=hint) from None
    return hosts


_HEADER = jinja2.Environment(
    undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True, autoescape=False
).from_string(
    """\
# Ansible inventory for the k3s cluster "{{ name }}".
# Rendered by `pi-k8s inventory`{% if source %} from {{ source }}{% endif %}; edit the spec
# and render again rather than editing this file.
{% if decisions %}
#
# Roles (the first server initialises the cluster):
{% for d in decisions %}
#   {{ "%-20s" | format(d.name) }} {{ "%-7s" | format(d.role) }} {{ d.reason }}
{% endfor %}
{% endif %}
"""
)


def render_inventory(
    data: dict[str, Any],
    *,
    source: str | None = None,
    decisions: Iterable[RoleDecision] = (),
) -> str:
    """The inventory file's text: a comment header, then the data as YAML."""
    name = data.get("all", {}).get("children", {}).get("k3s_cluster", {}).get("vars", {})
    header = _HEADER.render(
        name=name.get("cluster_name", "?"),
        source=source,
        decisions=[d for d in decisions if d.role != "skipped"],
    )
    body = yaml.safe_dump(
        data, sort_keys=False, default_flow_style=False, allow_unicode=True, width=4096
    )
    return header + "---\n" + body


def write_inventory(
    data: dict[str, Any],
    path: str | Path,
    *,
    source: str | None = None,
    decisions: Iterable[RoleDecision] = (),
) -> Path:
    """Write the inventory atomically (temp file + rename), mode 0644; return the path."""
    path = Path(path)
    text = render_inventory(data, source=source, decisions=decisions)
    path.parent.mkdir(parents=True, exist_ok=True)
    paths.write_atomic(path, text, mode=0o644)
    return path


# -------------------------------------------------------------------------- selection


def _matches(host: PiHost, selector: str) -> bool:
    """Whether a normalised selector (lowercase hostname, MAC or IPv4) names this host."""
    if host.ip == selector:
        return True
    if host.mac and host.mac.lower().replace("-", ":") == selector:
        return True
    if host.hostname:
        name = host.hostname.lower()
        return selector in (name, name.split(".")[0])
    return False


def _label(host: PiHost) -> str:
    return f"{host.hostname} ({host.ip})" if host.hostname else host.ip


def _select(
    spec: ClusterSpec, hosts: Sequence[PiHost], warnings: list[str]
) -> tuple[list[PiHost], list[RoleDecision]]:
    include, exclude = spec.hosts.include, spec.hosts.exclude
    for i, sel in enumerate(include):
        if not any(_matches(h, sel) for h in hosts):
            raise spec_problem(
                spec,
                f"hosts.include[{i}]",
                f"{sel!r} matches no discovered host ({len(hosts)} discovered).",
                hint="Check the spelling, that the host is up, and the discovery output.",
            )
    for sel in exclude:
        if not any(_matches(h, sel) for h in hosts):
            warnings.append(f"hosts.exclude: {sel!r} matches no discovered host.")

    selected: list[PiHost] = []
    skipped: list[RoleDecision] = []
    for host in hosts:
        excl = next((s for s in exclude if _matches(host, s)), None)
        incl = next((s for s in include if _matches(host, s)), None)
        if excl is not None:
            skipped.append(RoleDecision(host, "skipped", f"excluded by hosts.exclude {excl!r}"))
        elif include and incl is None:
            skipped.append(RoleDecision(host, "skipped", "not in hosts.include"))
        elif incl is None and not host.is_pi:
            skipped.append(
                RoleDecision(host, "skipped", "not a Raspberry Pi (hosts.include can add it)")
            )
        elif incl is None and host.ssh_error:
            skipped.append(RoleDecision(host, "skipped", f"SSH probe failed: {host.ssh_error}"))
        else:
            if host.ssh_error:
                warnings.append(
                    f"{_label(host)} is included but its SSH probe failed ({host.ssh_error}); "
                    "its hardware is unknown and Ansible may not reach it."
                )
            selected.append(host)
    if not selected:
        raise SpecError(
            f"{spec.source}: no host to put in the cluster: {len(hosts)} discovered, "
            "none selected.",
            hint="Check hosts.include/hosts.exclude, or run `pi-k8s discover` to see "
            "what answers on the LAN.",
        )
    return selected, skipped


def is_armv6(host: PiHost) -> str | None:
    """Why a host is an ARMv6 board (Pi 1 / Zero / Zero W), or None."""
    if host.kernel_arch and host.kernel_arch.startswith("armv6"):
        return f"its kernel is {host.kernel_arch}"
    if host.processor and host.processor.upper() == "BCM2835":
        return "its SoC is a BCM2835"
    if host.board_type and host.board_type.strip().lower() in ARMV6_BOARD_TYPES:
        return f"it is a Pi {host.board_type}"
    if host.model:
        m = host.model.lower()
        if m.startswith("raspberry pi zero") and not m.startswith("raspberry pi zero 2"):
            return f"it is a {host.model}"
        if m.startswith(("raspberry pi model a", "raspberry pi model b")):
            return f"it is a {host.model} (Pi 1)"
    return None


def _refuse_bad_hosts(selected: Sequence[PiHost]) -> None:
    nameless = [h.ip for h in selected if not h.hostname]
    if nameless:
        raise SpecError(
            f"no hostname for {', '.join(nameless)}: k3s names each node after its host.",
            hint="Probe it over SSH (pi-k8s discover) or exclude it with hosts.exclude.",
        )
    for attr, what in (("hostname", "hostname"), ("ip", "IP address")):
        seen: dict[str, PiHost] = {}
        for h in selected:
            key = str(getattr(h, attr)).lower()
            if key in seen:
                other = seen[key]
                raise SpecError(
                    f"duplicate {what} {getattr(h, attr)!r}: {_label(other)} and {_label(h)} "
                    + (
                        "(k3s needs a unique node name per host)."
                        if attr == "hostname"
                        else "(the discovery lists it twice)."
                    ),
                    hint=(
                        "Give each Pi its own hostname (sudo hostnamectl set-hostname pi-2), "
                        "or leave one out with hosts.exclude by MAC or IP."
                        if attr == "hostname"
                        else "Run pi-k8s discover again, or exclude one entry by MAC."
                    ),
                )
            seen[key] = h
    armv6 = [(h, why) for h in selected if (why := is_armv6(h))]
    if armv6:
        listed = "; ".join(f"{_label(h)}: {why}" for h, why in armv6)
        names = ", ".join(h.hostname or h.ip for h, _ in armv6)
        raise SpecError(
            f"armv6 boards cannot run k3s (no armv6 build; Pi 1 / Zero / Zero W): {listed}.",
            hint=f"Leave them out: hosts: {{exclude: [{names}]}}.",
        )


def _match_overrides(
    spec: ClusterSpec,
    hosts: Sequence[PiHost],
    selected: Sequence[PiHost],
    warnings: list[str],
) -> dict[str, tuple[str, HostOverride]]:
    """Overrides by selected hostname, with the selector that named each."""
    found: dict[str, tuple[str, HostOverride]] = {}
    for sel, override in spec.overrides.items():
        matched = [h for h in selected if _matches(h, sel)]
        if not matched:
            where = (
                "is not selected for the cluster"
                if any(_matches(h, sel) for h in hosts)
                else "matches no discovered host"
            )
            warnings.append(f"overrides[{sel!r}] {where}; it is ignored.")
            continue
        for h in matched:
            name = str(h.hostname)
            if name in found:
                raise spec_problem(
                    spec,
                    "overrides",
                    f"{found[name][0]!r} and {sel!r} both name {_label(h)}.",
                    hint="Merge them into one entry.",
                )
            found[name] = (sel, override)
    return found


# ---------------------------------------------------------------------------- roles


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


def _choose_roles(
    spec: ClusterSpec,
    selected: Sequence[PiHost],
    overrides: dict[str, tuple[str, HostOverride]],
) -> list[RoleDecision]:
    def forced(h: PiHost) -> str | None:
        entry = overrides.get(str(h.hostname))
        return entry[1].role if entry else None

    def by(h: PiHost) -> str:
        return f"overrides[{overrides[str(h.hostname)][0]!r}]"

    forced_servers = [h for h in selected if forced(h) == "server"]
    if len(forced_servers) > spec.servers:
        names = ", ".join(str(h.hostname) for h in forced_servers)
        raise spec_problem(
            spec,
            "servers",
            f"{spec.servers} requested, but overrides force {len(forced_servers)} servers "
            f"({names}).",
            hint="Raise servers (to an odd number) or drop a role: server override.",
        )
    free = [h for h in selected if forced(h) is None]
    eligible = sorted((h for h in free if _too_small(h) is None), key=_rank_key)
    need = spec.servers - len(forced_servers)
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
    out: list[RoleDecision] = []
    for h in sorted(forced_servers, key=_rank_key):
        out.append(RoleDecision(h, "server", f"forced by {by(h)} ({_facts(h)})"))
    for i, h in enumerate(chosen, 1):
        reason = f"ranked {i} of {len(eligible)} eligible ({_facts(h)})"
        out.append(RoleDecision(h, "server", reason))
    # The cluster-init server and the API endpoint: the best-ranked server.
    out.sort(key=lambda d: _rank_key(d.host))
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
    agents.sort(key=lambda d: _rank_key(d.host))
    return out + agents


def _too_small(h: PiHost) -> str | None:
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
    return _too_small(h) or "not eligible"


# ------------------------------------------------------------------------ addresses


def _check_addresses(spec: ClusterSpec, nodes: Sequence[PiHost]) -> None:
    subnet = spec.subnet
    if subnet is None:
        return
    for h in nodes:
        if ipaddress.IPv4Address(h.ip) not in subnet:
            raise spec_problem(
                spec,
                "subnet",
                f"node {_label(h)} is outside {subnet}.",
                hint="Fix subnet, or leave the host out with hosts.exclude.",
            )


# -------------------------------------------------------------------------- warnings


def _hardware_warnings(spec: ClusterSpec, decisions: Sequence[RoleDecision]) -> list[str]:
    out = []
    nodes = [d.host for d in decisions]
    armhf = [str(h.hostname) for h in nodes if h.userland_arch == "armhf"]
    arm64 = [str(h.hostname) for h in nodes if h.userland_arch == "arm64"]
    if armhf and arm64:
        out.append(
            f"32-bit userland (armhf) on {', '.join(armhf)} mixed with arm64 on "
            f"{', '.join(arm64)}: every image must be built for both; reinstall a 64-bit "
            "OS on the armhf hosts if you can."
        )
    if spec.servers > 1:
        slow = [
            str(d.host.hostname)
            for d in decisions
            if d.role == "server" and d.host.root_kind not in FAST_ROOTS
        ]
        if slow:
            out.append(
                f"etcd servers without an SSD/NVMe/USB root: {', '.join(slow)}; "
                "k3s warns that SD cards cannot take etcd's write load."
            )
    return out


# ------------------------------------------------------------------------ inventory


def _host_vars(spec: ClusterSpec, h: PiHost, override: HostOverride | None) -> dict[str, Any]:
    hv: dict[str, Any] = {"ansible_host": h.ip, "ansible_user": spec.ssh.user}
    facts = {
        "pi_k8s_mac": h.mac.lower() if h.mac else None,
        "pi_k8s_arch": h.kernel_arch,
        "pi_k8s_userland_arch": h.userland_arch,
        "pi_k8s_model": h.model,
        "pi_k8s_memory_mb": h.memory_mb,
        "pi_k8s_os": h.os_id,
        "pi_k8s_root_kind": h.root_kind,
    }
    hv.update({k: v for k, v in facts.items() if v is not None})
    if override and override.labels:
        hv["k3s_node_labels"] = dict(override.labels)
    if override and override.taints:
        hv["k3s_node_taints"] = list(override.taints)
    return hv


def _shell_word(text: str) -> str:
    """Quote for Ansible's shlex split only when needed (ssh expands a bare ~ itself)."""
    return text if re.fullmatch(r"[\w@%+=:,./~-]+", text) else shlex.quote(text)


def _inventory_data(
    spec: ClusterSpec,
    decisions: Sequence[RoleDecision],
    overrides: dict[str, tuple[str, HostOverride]],
) -> dict[str, Any]:
    def group(role: str) -> dict[str, Any]:
        return {
            str(d.host.hostname): _host_vars(
                spec, d.host, overrides.get(str(d.host.hostname), (None, None))[1]
            )
            for d in decisions
            if d.role == role
        }

    servers = [d.host for d in decisions if d.role == "server"]
    gv: dict[str, Any] = {"cluster_name": spec.name}
    if spec.k3s.version:
        gv["cluster_k3s_version"] = spec.k3s.version
    else:
        gv["cluster_k3s_channel"] = spec.k3s.channel
    gv["cluster_api_endpoint"] = servers[0].ip
    if spec.ssh.identity:
        gv["ansible_ssh_private_key_file"] = spec.ssh.identity
    if spec.ssh.known_hosts:
        gv["ansible_ssh_common_args"] = (
            f"-o UserKnownHostsFile={_shell_word(spec.ssh.known_hosts)} "
            "-o StrictHostKeyChecking=yes"
        )
    return {
        "all": {
            "children": {
                "k3s_cluster": {
                    "children": {
                        "server": {"hosts": group("server")},
                        "agent": {"hosts": group("agent")},
                    },
                    "vars": gv,
                }
            }
        }
    }
