"""Let Ansible's main loop wait, not spin, while every worker is busy.

Ansible runs each task on each host in a worker process it forks, at most ``forks`` at
once. When a task has more hosts than that (50 hosts with pi-k8s's ``forks = 20``),
ansible-playbook's process waits for a worker to end before it forks the next one, and it
waits in a tight loop: it asks every worker whether it is still alive and sleeps 0.1 ms,
again and again (``StrategyBase._queue_task``). On the two cores of the testbed's machine,
in a steady no-op of ``site.yml`` on 50 hosts, that process used 1 to 2 s more CPU than
with this callback (11 to 13 s against 10 to 11 s), and made 50,000 to 58,000 voluntary
context switches against 15,000 to 18,000 (docs/performance.md, round twenty).

This callback makes each of those sleeps last Ansible's own ``internal_poll_interval``
(1 ms by default), the interval at which the same process already polls for its workers'
results. A worker that ends is then replaced at most that much later. Any other sleep is as
Ansible asks. With no more hosts than forks the loop never waits, and nothing changes.

It changes nothing a task does or reports and prints nothing; if Ansible's strategy module
no longer sleeps through its ``time`` module, it leaves the run as it was. pi-k8s's
ansible.cfg enables it (``callbacks_enabled``).
"""

from __future__ import annotations

import time
import types

from ansible import constants as C
from ansible.plugins import strategy
from ansible.plugins.callback import CallbackBase
from ansible.utils.display import Display

DOCUMENTATION = r"""
name: queue_wait
type: aggregate
short_description: Let Ansible's main loop wait, not spin, while every worker is busy
description:
  - When every worker is busy, ansible-playbook's process waits for one to end in a loop
    that sleeps 0.1 ms at a time. This callback makes those sleeps last Ansible's own
    C(internal_poll_interval) (1 ms by default) instead, so that the loop leaves the CPU to
    the workers. Other sleeps are as Ansible asks.
  - Changes nothing a task does or reports, and prints nothing.
requirements:
  - enable it with C(callbacks_enabled = pik8s.cluster.queue_wait) in ansible.cfg
"""

display = Display()


class _PatientTime(types.ModuleType):
    """The ``time`` module, but a sleep shorter than ``floor`` lasts ``floor``."""

    def __init__(self, floor: float) -> None:
        super().__init__("time")
        self.floor = floor

    def sleep(self, seconds: float) -> None:
        time.sleep(max(seconds, self.floor))

    def __getattr__(self, name: str) -> object:
        return getattr(time, name)


def install(floor: float) -> bool:
    """Have the strategy module's sleeps last at least ``floor`` seconds; returns whether
    this call installed it (once per process, and only over the real ``time`` module)."""
    if getattr(strategy, "time", None) is not time or floor <= 0:
        return False
    strategy.time = _PatientTime(floor)
    return True


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "pik8s.cluster.queue_wait"
    CALLBACK_NEEDS_ENABLED = True

    def v2_playbook_on_start(self, playbook: object) -> None:
        try:
            install(float(C.DEFAULT_INTERNAL_POLL_INTERVAL))
        except Exception as exc:  # an optimisation must never fail a run
            display.vvv(f"pik8s.cluster.queue_wait: the main loop waits as usual ({exc})")
