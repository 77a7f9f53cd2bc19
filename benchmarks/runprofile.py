"""What one Ansible run cost: tasks and round trips per host, the slowest tasks, and the
controller's CPU time and peak memory. Used by benchmarks/converge.py; figures, not tests.

- A *task run on a host* is a task event that was not skipped (ok, changed, failed or
  unreachable).
- A *round trip* is such a task whose action runs a module on the host. Actions that Ansible
  runs on the controller (``set_fact``, ``assert``, ``include_*``, ``meta`` …) cost none.
- A task's *wall time* runs from its start to the next task's (or the play recap): on
  every host at once, with Ansible's own work between tasks.
- The controller's CPU is the user + system time of this process's children (ansible-runner
  runs ansible-playbook and its forks as children); its memory is the peak of the summed
  resident set of every descendant, sampled every 0.1 s from ``/proc``.
"""

from __future__ import annotations

import itertools
import json
import os
import resource
import threading
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

# Actions that run on the controller only (no connection to the host).
CONTROLLER_ACTIONS = frozenset(
    {
        "set_fact",
        "assert",
        "fail",
        "debug",
        "meta",
        "include_tasks",
        "import_tasks",
        "include_role",
        "import_role",
        "include_vars",
        "add_host",
        "group_by",
        "set_stats",
        "validate_argument_spec",
        "pause",
        "check",  # pik8s.cluster.check (plugins/action/check.py)
    }
)
_RAN = ("runner_on_ok", "runner_on_failed", "runner_on_unreachable")


def _name(data: dict[str, Any]) -> str:
    role = data.get("role")
    return f"{role} : {data.get('task', '')}" if role else str(data.get("task", ""))


def _short(action: str) -> str:
    return action.rsplit(".", 1)[-1]


def _descendants_rss(root: int) -> int:
    """The summed resident set (bytes) of every process below ``root``.

    It walks down from ``root`` through each thread's ``children`` list, so it reads only
    the run's own processes. (It used to read every process on the machine ten times a
    second: with 50 testbed hosts, 600 processes, that took a fifth of a core from the run
    it measured, more at 50 hosts than at 5; docs/performance.md, round ten.)
    """
    page = os.sysconf("SC_PAGE_SIZE")
    total = 0
    stack = [root]
    while stack:
        pid = stack.pop()
        try:
            threads = os.listdir(f"/proc/{pid}/task")
        except OSError:
            continue  # gone since its parent listed it
        for tid in threads:
            try:
                stack += [
                    int(kid) for kid in Path(f"/proc/{pid}/task/{tid}/children").read_text().split()
                ]
            except OSError:
                continue
        if pid != root:
            try:
                total += int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * page
            except OSError:
                continue
    return total


@dataclass
class RunProfile:
    """Feed it ansible-runner's raw events (``on_event``, ``read_artifacts``); read the
    figures after the run."""

    tasks: Counter[str] = field(default_factory=Counter)
    round_trips: Counter[str] = field(default_factory=Counter)
    # task name → longest duration on any host (s)
    durations: dict[str, float] = field(default_factory=lambda: defaultdict(float))
    # (start time, task name) of every task in the run, in order, and the recap's time
    starts: list[tuple[datetime, str]] = field(default_factory=list)
    peak_rss: int = 0
    cpu_s: float = 0.0
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None
    _cpu0: float = 0.0

    def __enter__(self) -> RunProfile:
        use = resource.getrusage(resource.RUSAGE_CHILDREN)
        self._cpu0 = use.ru_utime + use.ru_stime
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join()
        use = resource.getrusage(resource.RUSAGE_CHILDREN)
        self.cpu_s = use.ru_utime + use.ru_stime - self._cpu0

    def _sample(self) -> None:
        me = os.getpid()
        while not self._stop.wait(0.1):
            self.peak_rss = max(self.peak_rss, _descendants_rss(me))

    def on_event(self, event: dict[str, Any]) -> None:
        kind = event.get("event")
        if kind in ("playbook_on_task_start", "playbook_on_stats") and event.get("created"):
            data = event.get("event_data", {})
            name = (
                f"{data.get('role', '') + ' : ' if data.get('role') else ''}{data.get('task', '')}"
            )
            self.starts.append((datetime.fromisoformat(event["created"]), name))
        if kind not in _RAN:
            return
        data = event.get("event_data", {})
        host = str(data.get("host", ""))
        if data.get("res", {}).get("skipped") or not host:
            return
        self.tasks[host] += 1
        action = _short(str(data.get("task_action", "")))
        if action not in CONTROLLER_ACTIONS:
            self.round_trips[host] += 1
        name = _name(data)
        self.durations[name] = max(self.durations[name], float(data.get("duration") or 0))

    def read_artifacts(self, run_dir: Path) -> None:
        """Count a finished run from its ansible-runner job_events (CPU and memory are
        sampled live, inside ``with``)."""
        for path in sorted(run_dir.glob("**/job_events/*.json")):
            self.on_event(json.loads(path.read_text()))

    @classmethod
    def from_artifacts(cls, run_dir: Path) -> RunProfile:
        prof = cls()
        prof.read_artifacts(run_dir)
        return prof

    def per_host(self, counter: Counter[str]) -> float:
        return round(sum(counter.values()) / max(len(counter), 1), 1)

    def slowest(self, n: int = 15) -> list[tuple[str, float]]:
        """The tasks with the longest wall time (summed when a task runs in several plays)."""
        walls: dict[str, float] = defaultdict(float)
        starts = sorted(self.starts)
        for (t0, name), (t1, _) in itertools.pairwise(starts):
            walls[name] += (t1 - t0).total_seconds()
        return sorted(walls.items(), key=lambda kv: -kv[1])[:n]

    def task_count(self) -> int:
        """Tasks the run started (each once, whatever the number of hosts)."""
        return sum(1 for _, name in self.starts if name)


if __name__ == "__main__":
    import sys

    run = RunProfile.from_artifacts(Path(sys.argv[1]))
    print(
        f"tasks started {run.task_count()}  tasks/host {run.per_host(run.tasks)}  "
        f"round trips/host {run.per_host(run.round_trips)}"
    )
    print(dict(run.round_trips))
    for name, sec in run.slowest(int(sys.argv[2]) if len(sys.argv) > 2 else 15):
        print(f"{sec:6.2f}s  {name}")
