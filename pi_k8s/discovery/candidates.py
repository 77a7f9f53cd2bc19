"""One host some source saw (sweep, neighbour table, mDNS), before the SSH probe."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Candidate:
    ip: str
    mac: str | None = None
    hostname: str | None = None
    sources: list[str] = field(default_factory=list)

    def seen(self, source: str) -> None:
        if source not in self.sources:
            self.sources.append(source)
