"""Add Pis to a cluster pi-k8s remembers: the job of `pi-k8s nodes add`.

Order: the cluster's state and the flags; the new hosts (named, from a discovery file, or
found on a subnet) and the rules (not a member yet, no armv6, 2 GB for a server, an odd
number of servers); the plan; then the inventory with the new hosts and ``site.yml``
over the whole cluster. The members are already converged, so they report changed=0
and nothing restarts on them; the new hosts get prep plus join. site.yml's last play
waits until every node is Ready; only then does cluster.json list the new members.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pi_k8s import ansible_vars, clusters, release
from pi_k8s.errors import NothingFound, SpecError, UsageError
from pi_k8s.inventory import is_armv6, load_hosts, write_inventory
from pi_k8s.inventory.build import host_entry
from pi_k8s.inventory.edit import read_inventory, with_cluster_vars, with_hosts
from pi_k8s.inventory.roles import too_small_for_server
from pi_k8s.inventory.selection import label, matches
from pi_k8s.models import PiHost
from pi_k8s.operations.clusters import PlannedRun, open_cluster, remember_run, run_on_cluster
from pi_k8s.operations.hooks import Hooks

ROLES = ("agent", "server")
ETCD_DOC = "docs.k3s.io/datastore/ha-embedded"


@dataclass
class AddPlan:
    """What `nodes add` will do; --check stops here."""

    cluster: str
    inventory: Path  # the inventory the run uses (written before the run)
    new: list[tuple[PiHost, str]]  # (host, role) in the order they join
    servers_before: int
    servers_after: int
    migrate_to_etcd: bool  # a single SQLite server restarts with cluster-init first
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "cluster": self.cluster,
            "inventory": str(self.inventory),
            "new": [
                {"hostname": h.hostname, "ip": h.ip, "role": role, "model": h.model}
                for h, role in self.new
            ],
            "servers_before": self.servers_before,
            "servers_after": self.servers_after,
            "migrate_to_etcd": self.migrate_to_etcd,
            "notes": self.notes,
        }


AddResult = PlannedRun[AddPlan]


def add_nodes(
    names: Sequence[str],
    *,
    cluster: str | None = None,
    role: str = "agent",
    from_file: Path | None = None,
    subnets: Sequence[str] = (),
    allow_even: bool = False,
    check: bool = False,
    verbose: bool = False,
    hooks: Hooks | None = None,
) -> AddResult:
    """Add hosts to the cluster. Raises UsageError / SpecError / NothingFound before any
    host is touched, PlaybookFailed when site.yml fails (cluster.json keeps the old
    members and records the failed run)."""
    hooks = hooks or Hooks()
    if role not in ROLES:
        raise UsageError(
            f"--role {role!r} is not agent or server.", hint="Pass --role agent or --role server."
        )
    if from_file is not None and subnets:
        raise UsageError(
            "--from and --subnet exclude each other.",
            hint="Take the hosts from a discovery file, or discover them now.",
        )
    if not names and from_file is None and not subnets:
        raise UsageError(
            "Name the Pis to add, or pass --from FILE or --subnet CIDR to find new ones.",
            hint="e.g. pi-k8s nodes add 192.168.1.35, or pi-k8s nodes add --subnet 192.168.1.0/24",
        )
    for name in names:
        _check_name(name)
    state, inventory, loaded = open_cluster(cluster)
    name = state.name
    if state.k3s.source == "airgap" and state.k3s.location:
        release.check_airgap_dir(Path(state.k3s.location))
    hosts = _find_new_hosts(names, state, loaded, from_file, subnets, hooks)
    plan = _plan(state, hosts, role, allow_even)
    hooks.on_nodes_plan(plan)
    if check:
        return AddResult(plan)
    data = read_inventory(inventory)
    user = next(
        (str(v["ansible_user"]) for v in loaded.hostvars.values() if v.get("ansible_user")), None
    )
    data = with_hosts(data, role, {str(h.hostname): host_entry(h, user) for h, _ in plan.new})
    if plan.migrate_to_etcd:
        data = with_cluster_vars(data, k3s_server_embedded_etcd=True)
    if plan.servers_after % 2 == 0:
        data = with_cluster_vars(data, k3s_server_allow_even=True)
    _refuse_sidecar_vars(inventory, plan.inventory)
    write_inventory(data, plan.inventory, source=f"pi-k8s nodes add ({name})")
    loaded = ansible_vars.load(plan.inventory)
    if state.k3s.source == "airgap" and state.k3s.location:
        release.check_airgap(Path(state.k3s.location), loaded.hostvars)
    extra = _release_vars(state.k3s)
    title = f"nodes add ({', '.join(str(h.hostname) for h, _ in plan.new)})"
    result, started = run_on_cluster(
        "site.yml", plan.inventory, extra, title=title, verbose=verbose, hooks=hooks
    )
    written = remember_run("nodes add", plan.inventory, loaded, extra, result, started=started)
    result.raise_for_status()
    return AddResult(plan, result, written)


def _check_name(name: str) -> None:
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9.:-]{0,252}", name):
        raise UsageError(
            f"{name!r} is not a hostname, IP address or MAC address.",
            hint="Name each new Pi by hostname (pi-5), IP (192.168.1.35) or MAC.",
        )


def _find_new_hosts(
    names: Sequence[str],
    state: clusters.ClusterState,
    loaded: ansible_vars.AnsibleInventory,
    from_file: Path | None,
    subnets: Sequence[str],
    hooks: Hooks,
) -> list[PiHost]:
    """The hosts to add: ``names`` picked out of the file or the scan (all new Pis there
    when no name is given); names alone are probed where they are."""
    if from_file is not None:
        found = load_hosts(from_file)
        where = str(from_file)
    else:
        scan = subnets or [f"{_address_of(n)}/32" for n in names]
        hooks.step(f"Discovering hosts on {', '.join(scan)} …")
        found = _discover(scan, loaded, hooks)
        where = ", ".join(subnets) if subnets else "the network"
    member_keys = {k for m in state.members for k in (m.hostname, m.ip, m.mac) if k}

    def is_member(h: PiHost) -> bool:
        return bool({h.hostname, h.ip, (h.mac or "").lower()} & member_keys)

    if names:
        picked = []
        for n in names:
            hits = [h for h in found if matches(h, n.lower()) or h.ip == _maybe_ip(n)]
            if not hits:
                raise NothingFound(
                    f"{n} was not found in {where} ({len(found)} host(s) there).",
                    hint="Check that the Pi is up and answers SSH, and the spelling.",
                )
            picked.extend(hits[:1])
    else:
        picked = [h for h in found if h.is_pi and not h.ssh_error and not is_member(h)]
        if not picked:
            raise NothingFound(
                f"No new Pi in {where}: every Pi found there is already a member.",
                hint="Plug the new Pi in, wait for it to boot, and try again.",
            )
    for h in picked:
        if is_member(h):
            member = next(
                m
                for m in state.members
                if {m.hostname, m.ip, m.mac} & {h.hostname, h.ip, (h.mac or "").lower()}
            )
            raise UsageError(
                f"{label(h)} is already a member of cluster {state.name!r} ({member.role}).",
                hint="`pi-k8s status` lists the members; a member keeps its role.",
            )
        if h.ssh_error:
            raise NothingFound(
                f"{label(h)} answered, but SSH failed: {h.ssh_error}.",
                hint="Check the Pi's SSH user and key: they must be the cluster's.",
            )
        if not h.hostname:
            raise SpecError(
                f"{h.ip} reported no hostname: k3s names each node after its host.",
                hint="Give the Pi a hostname (sudo hostnamectl set-hostname pi-5).",
            )
        if why := is_armv6(h):
            raise SpecError(
                f"{label(h)} cannot run k3s: {why} (armv6: no k3s build for Pi 1 / Zero / Zero W).",
                hint="Leave it out; a Pi 2 or newer can join.",
            )
    return picked


def _plan(
    state: clusters.ClusterState, hosts: list[PiHost], role: str, allow_even: bool
) -> AddPlan:
    before = len(state.servers)
    after = before + (len(hosts) if role == "server" else 0)
    notes = []
    if role == "server":
        small = [f"{label(h)}: {why}" for h in hosts if (why := too_small_for_server(h))]
        if small:
            raise SpecError(
                "k3s needs 2 GB of RAM on a server (docs.k3s.io/installation/requirements): "
                + "; ".join(small)
                + ".",
                hint="Add it as an agent (--role agent).",
            )
        if after % 2 == 0 and not allow_even:
            raise UsageError(
                f"Adding {len(hosts)} server(s) to {before} makes {after}: etcd needs a "
                "majority of servers up, so an even count adds a failure point without "
                "adding tolerance (quorum).",
                hint=f"Add {len(hosts) + 1} servers (e.g. one more), or use --allow-even.",
            )
        if after % 2 == 0:
            notes.append(f"{after} servers: even, accepted with --allow-even.")
    migrate = role == "server" and state.datastore == "sqlite"
    if migrate:
        notes.append(
            f"{state.servers[0].hostname} runs on SQLite: it restarts with cluster-init first, "
            f"which migrates its datastore to embedded etcd ({ETCD_DOC}); then the new "
            "servers join."
        )
    directory = clusters.cluster_dir(state.name)
    return AddPlan(
        cluster=state.name,
        inventory=directory / "hosts.yml",
        new=[(h, role) for h in hosts],
        servers_before=before,
        servers_after=after,
        migrate_to_etcd=migrate,
        notes=notes,
    )


def _refuse_sidecar_vars(old: Path, new: Path) -> None:
    """A hand-written inventory's group_vars/host_vars would not follow it into the
    cluster's state dir: refuse rather than lose them."""
    if old.resolve() == new.resolve():
        return
    lost = [d for d in ("group_vars", "host_vars") if (old.parent / d).is_dir()]
    if lost:
        raise UsageError(
            f"{old} has {' and '.join(lost)} next to it, which pi-k8s cannot carry into {new}.",
            hint=f"Add the hosts to your inventory by hand and run `pi-k8s bootstrap -i {old}`.",
        )


def _release_vars(k3s: clusters.K3sRelease) -> dict[str, Any]:
    """The release the cluster runs, for the new nodes (never a newer one)."""
    extra: dict[str, Any] = {}
    if k3s.version:
        extra["cluster_k3s_version"] = k3s.version
    elif k3s.channel:
        extra["cluster_k3s_channel"] = k3s.channel
    if k3s.source == "airgap" and k3s.location:
        extra.update(cluster_k3s_source="airgap", cluster_k3s_airgap_dir=k3s.location)
    elif k3s.source == "mirror" and k3s.location:
        extra.update(cluster_k3s_source="mirror", cluster_k3s_mirror_url=k3s.location)
    return extra


def _address_of(name: str) -> str:
    ip = _maybe_ip(name)
    if ip:
        return ip
    try:
        return socket.getaddrinfo(name, None, socket.AF_INET)[0][4][0]
    except OSError as exc:
        raise UsageError(
            f"{name} does not resolve to an address ({exc}).",
            hint="Name it by IP, or pass --from FILE / --subnet CIDR to find it.",
        ) from exc


def _maybe_ip(name: str) -> str | None:
    try:
        return str(ipaddress.IPv4Address(name))
    except ValueError:
        return None


def _discover(
    scan: Sequence[str], loaded: ansible_vars.AnsibleInventory, hooks: Hooks
) -> list[PiHost]:
    """Probe with the cluster's own SSH settings (user, key, known_hosts)."""
    from pi_k8s.discovery import discover  # asyncssh and zeroconf: only when scanning

    hv = next(iter(loaded.hostvars.values()), {})
    known = re.search(r"UserKnownHostsFile=(\S+)", str(hv.get("ansible_ssh_common_args") or ""))
    return list(
        discover(
            subnets=list(scan),
            user=hv.get("ansible_user"),
            identity=hv.get("ansible_ssh_private_key_file"),
            known_hosts=known.group(1).strip("'\"") if known else None,
            progress=hooks.step,
        )
    )
