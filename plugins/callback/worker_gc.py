"""Keep Python's garbage collector in each forked worker off the objects it inherited.

Ansible runs each task on each host in a worker process forked from ansible-playbook's
process, and the worker inherits that process's whole heap (the inventory, every host's
variables and facts, the loaded plugins) and its cycle collector's counts, so a worker
forked when those counts were near a full collection runs one soon after it starts: it
walks every inherited object and writes to each one's header, which also makes the kernel
copy each page the worker shared with its parent. In a steady no-op of ``site.yml`` on 50
testbed hosts the workers ran 43 full collections costing 3.4 s of CPU in all, 66 to
100 ms each (docs/performance.md, round twenty).

This callback has each forked process move what it inherited into the collector's
permanent generation (``gc.freeze()``, right after the fork), as Python's documentation
advises for processes that fork without exec: the worker's collections then look only at
the objects the worker made itself, which it still collects as usual. ansible-playbook's
own process is left as it is. The objects a worker inherited die with the worker, as they
do without this.

It changes nothing a task does or reports and prints nothing. pi-k8s's ansible.cfg enables
it (``callbacks_enabled``).
"""

from __future__ import annotations

import gc
import os

from ansible.plugins.callback import CallbackBase

DOCUMENTATION = r"""
name: worker_gc
type: aggregate
short_description: Keep Python's garbage collector in each forked worker off what it inherited
description:
  - Has each process forked from ansible-playbook's (the worker of each task on each host)
    move the objects it inherited into the garbage collector's permanent generation right
    after the fork, so that the worker's collections walk only the objects it made itself.
  - Changes nothing a task does or reports, and prints nothing.
requirements:
  - enable it with C(callbacks_enabled = pik8s.cluster.worker_gc) in ansible.cfg
"""

_registered = False


def register() -> bool:
    """Freeze the inherited heap in every process forked from this one from now on.

    Registered once per process (a hook cannot be removed, and a second one would only
    freeze again); returns whether this call registered it.
    """
    global _registered
    if _registered:
        return False
    os.register_at_fork(after_in_child=gc.freeze)
    _registered = True
    return True


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "pik8s.cluster.worker_gc"
    CALLBACK_NEEDS_ENABLED = True

    def v2_playbook_on_start(self, playbook: object) -> None:
        register()
