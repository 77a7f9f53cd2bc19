"""Which discovered hosts join the cluster, the hosts it refuses, and the overrides that apply."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from pi_k8s.errors import SpecError
from pi_k8s.inventory.decisions import RoleDecision
from pi_k8s.models import PiHost
from pi_k8s.spec import ClusterSpec, HostOverride, spec_problem

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


def matches(host: PiHost, selector: str) -> bool:
    """Whether a normalised selector (lowercase hostname, MAC or IPv4) names this host."""
    if host.ip == selector:
        return True
    if host.mac and host.mac.lower().replace("-", ":") == selector:
        return True
    if host.hostname:
        name = host.hostname.lower()
        return selector in (name, name.split(".")[0])
    return False


def label(host: PiHost) -> str:
    return f"{host.hostname} ({host.ip})" if host.hostname else host.ip


def select_hosts(
    spec: ClusterSpec, hosts: Sequence[PiHost], warnings: list[str]
) -> tuple[list[PiHost], list[RoleDecision]]:
    include, exclude = spec.hosts.include, spec.hosts.exclude
    for i, sel in enumerate(include):
        if not any(matches(h, sel) for h in hosts):
            raise spec_problem(
                spec,
                f"hosts.include[{i}]",
                f"{sel!r} matches no discovered host ({len(hosts)} discovered).",
                hint="Check the spelling, that the host is up, and the discovery output.",
            )
    for sel in exclude:
        if not any(matches(h, sel) for h in hosts):
            warnings.append(f"hosts.exclude: {sel!r} matches no discovered host.")

    selected: list[PiHost] = []
    skipped: list[RoleDecision] = []
    for host in hosts:
        excl = next((s for s in exclude if matches(host, s)), None)
        incl = next((s for s in include if matches(host, s)), None)
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
                    f"{label(host)} is included but its SSH probe failed ({host.ssh_error}); "
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


def refuse_bad_hosts(selected: Sequence[PiHost]) -> None:
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
                    f"duplicate {what} {getattr(h, attr)!r}: {label(other)} and {label(h)} "
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
        listed = "; ".join(f"{label(h)}: {why}" for h, why in armv6)
        names = ", ".join(h.hostname or h.ip for h, _ in armv6)
        raise SpecError(
            f"armv6 boards cannot run k3s (no armv6 build; Pi 1 / Zero / Zero W): {listed}.",
            hint=f"Leave them out: hosts: {{exclude: [{names}]}}.",
        )


def match_overrides(
    spec: ClusterSpec,
    hosts: Sequence[PiHost],
    selected: Sequence[PiHost],
    warnings: list[str],
) -> dict[str, tuple[str, HostOverride]]:
    """Overrides by selected hostname, with the selector that named each."""
    found: dict[str, tuple[str, HostOverride]] = {}
    for sel, override in spec.overrides.items():
        matched = [h for h in selected if matches(h, sel)]
        if not matched:
            where = (
                "is not selected for the cluster"
                if any(matches(h, sel) for h in hosts)
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
                    f"{found[name][0]!r} and {sel!r} both name {label(h)}.",
                    hint="Merge them into one entry.",
                )
            found[name] = (sel, override)
    return found


def refuse_missing_members(
    spec: ClusterSpec, selected: Sequence[PiHost], members: Mapping[str, tuple[str, int]]
) -> None:
    """SpecError when a member of the cluster is not among the selected hosts: rendering
    without it would drop a running node (and, for the first server, move cluster-init)."""
    names = {str(h.hostname) for h in selected}
    missing = [f"{m} ({role})" for m, (role, _order) in members.items() if m not in names]
    if missing:
        raise spec_problem(
            spec,
            "hosts",
            f"cluster members not among the selected hosts: {', '.join(sorted(missing))} "
            "(not discovered, or excluded).",
            hint="Bring them up and discover again, or retire them with "
            "`pi-k8s nodes remove NODE` (add --unreachable for a Pi that is gone).",
        )


def match_lb_nodes(spec: ClusterSpec, selected: Sequence[PiHost]) -> list[str]:
    """The hostnames ``lb_nodes`` names, in the spec's order; SpecError for a selector that
    names no host of the cluster (servicelb would then answer on every node, not on these)."""
    names: list[str] = []
    for i, sel in enumerate(spec.lb_nodes):
        matched = [str(h.hostname) for h in selected if matches(h, sel)]
        if not matched:
            raise spec_problem(
                spec,
                f"lb_nodes[{i}]",
                f"{sel!r} names no host selected for the cluster.",
                hint="List hosts of the cluster by hostname, MAC or IP (pi-k8s inventory "
                "shows them); servicelb would otherwise answer on every node.",
            )
        names += [n for n in matched if n not in names]
    return names
