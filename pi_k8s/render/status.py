"""`pi-k8s status` as text: a header line, the nodes, the API, the last runs, the notes.

Pure: a StatusReport → lines and tables (title, columns, rows of str); pi_k8s.console
draws them (rich tables on a terminal, tab-separated lines when piped, a Live view
with --watch).
"""

from __future__ import annotations

from dataclasses import dataclass

from pi_k8s.status.model import Disk, NodeRow, StatusReport, Throttling

NODE_COLUMNS = (
    "node",
    "role",
    "address",
    "k3s",
    "Ready",
    "Pi model",
    "temp",
    "throttling",
    "disk free",
    "uptime",
    "note",
)
_READY = {"True": "Ready", "False": "NotReady", "Unknown": "Unknown"}


@dataclass
class Section:
    title: str
    columns: tuple[str, ...]
    rows: list[tuple[str, ...]]


def status_view(report: StatusReport) -> list[str | Section]:
    """What the terminal shows, top to bottom: str items are lines."""
    k3s = report.k3s or {}
    release = k3s.get("version") or (f"channel {k3s['channel']}" if k3s.get("channel") else None)
    facts = ", ".join(
        x
        for x in (
            f"{len(report.nodes)} nodes",
            f"k3s {release}" if release else "",
            f"datastore {report.datastore}" if report.datastore else "",
        )
        if x
    )
    view: list[str | Section] = [
        f"cluster {report.cluster} ({facts}): read in {report.seconds:.1f} s "
        f"at {report.checked_at}",
        Section(f"nodes of {report.cluster}", NODE_COLUMNS, [node_cells(n) for n in report.nodes]),
        Section(
            api_title(report), ("server", "address", "API answers", "detail"), api_rows(report)
        ),
        node_list_line(report),
    ]
    if report.runs:
        view.append(
            Section(
                "last runs (newest first)",
                ("started", "command", "result", "summary"),
                [
                    (r["started"], r["command"], "ok" if r["ok"] else "FAILED", r["summary"])
                    for r in report.runs
                ],
            )
        )
    elif report.remembered:
        view.append("last runs: none recorded")
    view += [f"note: {n}" for n in report.notes]
    return view


def node_cells(n: NodeRow) -> tuple[str, ...]:
    note = n.error or ""
    if n.reachable is False:
        note = f"unreachable: {n.error}"
    return (
        n.hostname,
        n.role or "-",
        n.address or "-",
        n.k3s_version or "-",
        "?" if n.ready is None else _READY.get(n.ready, n.ready),
        n.pi_model or "-",
        "-" if n.temperature_c is None else f"{n.temperature_c:.1f} °C",
        throttling_text(n.throttling),
        disks_text(n.disks),
        "-" if n.uptime_s is None else uptime_text(n.uptime_s),
        note,
    )


def throttling_text(t: Throttling | None) -> str:
    """``none``, ``now: under-voltage; since boot: throttled``; ``-``: not read, or
    no vcgencmd on the host."""
    if t is None:
        return "-"
    if not t.now and not t.since_boot:
        return "none"
    parts = []
    if t.now:
        parts.append("now: " + ", ".join(t.now))
    if t.since_boot:
        parts.append("since boot: " + ", ".join(t.since_boot))
    return "; ".join(parts)


def disks_text(disks: list[Disk]) -> str:
    return " ".join(f"{d.path} {size_text(d.free_mb)}" for d in disks) or "-"


def size_text(mb: int) -> str:
    return f"{mb / 1024:.1f} GiB" if mb >= 1024 else f"{mb} MiB"


def uptime_text(seconds: float) -> str:
    """``3d 4h``, ``5h 12m``, ``7m``."""
    minutes = int(seconds // 60)
    days, hours, mins = minutes // 1440, minutes // 60 % 24, minutes % 60
    if days:
        return f"{days}d {hours}h"
    if hours:
        return f"{hours}h {mins}m"
    return f"{mins}m"


def api_title(report: StatusReport) -> str:
    a = report.api
    if not a.answers:
        return f"API {a.endpoint}: NO ANSWER ({a.detail})"
    who = f"answered by {a.answered_by}" if a.answered_by else "answers"
    return f"API {a.endpoint}: {who} ({a.detail})"


def api_rows(report: StatusReport) -> list[tuple[str, ...]]:
    return [
        (s.hostname, s.address, "yes" if s.answers else "NO", s.detail) for s in report.api.servers
    ]


def node_list_line(report: StatusReport) -> str:
    a = report.api
    if a.node_list_from:
        return f"node list: from {a.node_list_from} (k3s kubectl get nodes)"
    return f"node list: none, so Ready and k3s are unknown ({a.node_list_error})"
