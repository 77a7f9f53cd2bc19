"""What a testbed is, for both drivers: its hosts, their plan, its state directory.

``plan()`` gives each host its name, address, MAC and Pi profile; the container
testbed (``containers``) and the VM testbed (``qemu``) both build from it.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

from pi_k8s import pi_identity
from pi_k8s.errors import UsageError
from pi_k8s.paths import state_dir

DEFAULT_NAME = "default"

Progress = Callable[[str], None]


@dataclass
class TestbedHost:
    name: str
    kind: str  # "pi" or "other"
    ip: str
    mac: str
    model: str | None
    memory_mb: int | None
    state: str
    container: str

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


@dataclass
class Testbed:
    name: str
    network: str
    subnet: str
    image: str
    ssh_key: Path
    known_hosts: Path
    inventory: Path
    ssh_config: Path
    hosts: list[TestbedHost]

    def to_dict(self) -> dict[str, object]:
        data = asdict(self)
        for key in ("ssh_key", "known_hosts", "inventory", "ssh_config"):
            data[key] = str(data[key])
        return data


def noop(_: str) -> None:
    pass


def testbed_dir(name: str) -> Path:
    return state_dir() / "testbed" / name


def validate_name(name: str) -> None:
    if not name or not all(c.isalnum() or c == "-" for c in name) or len(name) > 20:
        raise UsageError(
            f"Invalid testbed name {name!r}.",
            hint="Use up to 20 letters, digits or dashes.",
        )


@dataclass(frozen=True)
class Plan:
    name: str
    kind: str
    ip: str
    mac: str
    profile: pi_identity.PiProfile | None


def parse_subnet(subnet: str, example: str) -> ipaddress.IPv4Network:
    """``subnet`` as a network; a UsageError unless it is a private IPv4 range."""
    try:
        net = ipaddress.ip_network(subnet)
    except ValueError as exc:
        raise UsageError(
            f"Invalid subnet {subnet!r}: {exc}.", hint=f"Use CIDR form, e.g. {example}."
        ) from exc
    if not net.is_private or not isinstance(net, ipaddress.IPv4Network):
        raise UsageError(
            f"Subnet {subnet} is not a private IPv4 range.",
            hint=f"The testbed only uses private ranges, e.g. {example}.",
        )
    return net


def testbed_record(
    name: str, network: str, subnet: str, image: str, hosts: list[TestbedHost]
) -> Testbed:
    """A testbed with its hosts; its access files are those of its state directory."""
    directory = testbed_dir(name)
    return Testbed(
        name=name,
        network=network,
        subnet=subnet,
        image=image,
        ssh_key=directory / "id_ed25519",
        known_hosts=directory / "known_hosts",
        inventory=directory / "hosts.json",
        ssh_config=directory / "ssh_config",
        hosts=hosts,
    )


def plan_hosts(testbed: str, subnet: str, nodes: int, others: int) -> list[Plan]:
    net = ipaddress.ip_network(subnet)
    addresses = list(net.hosts())
    # .1 is the gateway; hosts start at .10 so the first few stay free for VIPs.
    if nodes + others + 10 > len(addresses):
        raise UsageError(
            f"Subnet {subnet} is too small for {nodes + others} hosts.",
            hint="Pass a larger --subnet (a /24 holds up to 240 hosts).",
        )
    plans = []
    for i in range(nodes):
        profile = pi_identity.PI_PROFILES[i % len(pi_identity.PI_PROFILES)]
        host = f"rpi-{i + 1}"
        plans.append(
            Plan(
                host,
                "pi",
                str(addresses[9 + i]),
                pi_identity.mac_address(profile.oui, f"{testbed}/{host}"),
                profile,
            )
        )
    for j in range(others):
        host = f"other-{j + 1}"
        plans.append(
            Plan(
                host,
                "other",
                str(addresses[9 + nodes + j]),
                pi_identity.mac_address(pi_identity.OTHER_OUI, f"{testbed}/{host}"),
                None,
            )
        )
    return plans
