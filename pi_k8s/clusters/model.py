"""What pi-k8s remembers of a cluster: the data of ``cluster.json`` and its schema."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from functools import cache
from pathlib import Path
from typing import Any, Literal

from pi_k8s.errors import SpecError

SCHEMA_VERSION = 1
SCHEMA_FILE = Path(__file__).resolve().parent.parent / "data" / "cluster.schema.json"
MAX_RUNS = 20  # the last runs kept for `pi-k8s status`


@dataclass
class Member:
    """One node of the cluster, as it joined. ``order`` never changes once given: the
    first server (order 1) started the cluster and stays first."""

    hostname: str
    ip: str | None
    mac: str | None
    board: str | None  # the Pi model discovery read, e.g. "Raspberry Pi 4 Model B Rev 1.5"
    role: Literal["server", "agent"]
    order: int
    joined: str  # ISO 8601, UTC


@dataclass
class K3sRelease:
    version: str | None  # None: the channel chose it at install time
    channel: str | None
    source: Literal["release", "mirror", "airgap"] = "release"
    location: str | None = None  # the airgap directory or the mirror URL


@dataclass
class Run:
    """One pi-k8s run against the cluster, for `pi-k8s status`."""

    command: str
    started: str  # ISO 8601, UTC
    ok: bool
    summary: str  # e.g. "ok=120 changed=3 failed=0" or the error


@dataclass
class ClusterState:
    name: str
    api_endpoint: str  # https://ADDRESS:6443
    k3s: K3sRelease
    datastore: Literal["etcd", "sqlite"]
    inventory: str  # the inventory the last run used (absolute path)
    members: list[Member] = field(default_factory=list)
    runs: list[Run] = field(default_factory=list)
    schema_version: int = SCHEMA_VERSION

    @property
    def servers(self) -> list[Member]:
        return sorted((m for m in self.members if m.role == "server"), key=lambda m: m.order)

    @property
    def agents(self) -> list[Member]:
        return sorted((m for m in self.members if m.role == "agent"), key=lambda m: m.order)

    def member(self, name: str) -> Member | None:
        return next((m for m in self.members if m.hostname == name), None)

    def add_run(self, run: Run) -> None:
        self.runs = [*self.runs, run][-MAX_RUNS:]

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["members"] = sorted(data["members"], key=lambda m: m["order"])
        return {"schema_version": data.pop("schema_version"), **data}

    @classmethod
    def from_dict(cls, data: dict[str, Any], *, source: str = "cluster.json") -> ClusterState:
        """Validate ``data`` against the schema (SpecError naming the field) and load it."""
        validate(data, source=source)
        return cls(
            name=data["name"],
            api_endpoint=data["api_endpoint"],
            k3s=K3sRelease(**data["k3s"]),
            datastore=data["datastore"],
            inventory=data["inventory"],
            members=[Member(**m) for m in data["members"]],
            runs=[Run(**r) for r in data["runs"]],
            schema_version=data["schema_version"],
        )


@cache
def schema() -> dict[str, Any]:
    """The JSON Schema of cluster.json (shipped in the package: pi_k8s/data)."""
    return json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))


def validate(data: Any, *, source: str = "cluster.json") -> None:
    """SpecError (exit 3) when ``data`` does not match the schema."""
    import jsonschema

    errors = sorted(
        jsonschema.Draft202012Validator(schema()).iter_errors(data), key=lambda e: list(e.path)
    )
    if errors:
        first = errors[0]
        where = "/".join(str(p) for p in first.path) or "(top level)"
        raise SpecError(
            f"{source}: {where}: {first.message}",
            hint="This file is written by pi-k8s; if it was edited by hand, restore it, or "
            "bootstrap the cluster again to rewrite it.",
        )
