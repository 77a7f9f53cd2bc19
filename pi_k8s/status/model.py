"""What `pi-k8s status` reports: one row per node, the API, the last runs.

``StatusReport.to_dict()`` is the JSON of ``pi-k8s status --json``; its JSON Schema ships
in the package (pi_k8s/schemas/status.schema.json).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

SCHEMA_VERSION = 1
# Ready as the API reports a node: its Ready condition's status, or this when the API's
# node list does not have it.
NOT_REGISTERED = "not registered"


@dataclass
class Throttling:
    """``vcgencmd get_throttled``, decoded (Raspberry Pi documentation's bits)."""

    raw: str  # e.g. "0x50005"
    now: list[str]  # under-voltage, arm frequency capped, throttled, soft temperature limit
    since_boot: list[str]


@dataclass
class Disk:
    path: str  # "/" or "/var/lib/rancher" (listed only when it is a filesystem of its own)
    mount: str
    free_mb: int
    size_mb: int


@dataclass
class HostFacts:
    """What one host printed in its one SSH round trip (pi_k8s.status.probe)."""

    pi_model: str | None = None
    temperature_c: float | None = None
    throttling: Throttling | None = None
    disks: list[Disk] = field(default_factory=list)
    uptime_s: float | None = None
    # A server's `k3s kubectl get nodes -o json`: (exit code, output or error text).
    node_list: tuple[int, str] | None = None


@dataclass
class NodeRow:
    hostname: str
    role: str | None  # server | agent (cluster.json, else the inventory); None: API only
    address: str | None
    joined: str | None  # from cluster.json; None when pi-k8s has no record
    reachable: bool | None  # None: not in the inventory, so not probed
    error: str | None = None  # why the host could not be read
    k3s_version: str | None = None  # the API's kubeletVersion
    ready: str | None = None  # True | False | Unknown | "not registered"; None: no node list
    ready_reason: str | None = None
    pi_model: str | None = None
    temperature_c: float | None = None
    throttling: Throttling | None = None
    disks: list[Disk] = field(default_factory=list)
    uptime_s: float | None = None


@dataclass
class ServerAnswer:
    """One server's API port: does ``https://ADDRESS:6443/ping`` answer ``pong``?"""

    hostname: str
    address: str
    answers: bool
    detail: str


@dataclass
class ApiStatus:
    endpoint: str  # https://ADDRESS:6443
    answers: bool
    answered_by: str | None  # the server at the endpoint's address, when it is one's
    detail: str
    servers: list[ServerAnswer] = field(default_factory=list)
    node_list_from: str | None = None  # the server whose `k3s kubectl` gave the node list
    node_list_error: str | None = None  # why no server gave it


@dataclass
class StatusReport:
    cluster: str
    remembered: bool  # pi-k8s has a cluster.json for it
    inventory: str
    checked_at: str  # ISO 8601, UTC
    seconds: float  # how long the pass over the hosts and the API took
    k3s: dict[str, Any] | None  # cluster.json's release (version, channel, source)
    datastore: str | None
    api: ApiStatus
    nodes: list[NodeRow]
    runs: list[dict[str, Any]]  # cluster.json's last runs, newest first
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"schema_version": SCHEMA_VERSION, **asdict(self)}
