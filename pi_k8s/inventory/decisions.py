"""The roles `pi-k8s inventory` decides on, with the reason for each."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from pi_k8s.models import PiHost

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
