"""Load the plugins every task needs once, in ansible-playbook's own process.

Ansible runs each task on each host in a worker process forked from ansible-playbook's
process. A plugin the worker needs and that process has not loaded yet (the action, the
lookups, the filters and tests, the connection) is found and imported again in every
worker, and this collection's filters are compiled again in every worker too (Ansible's
collection loader keeps no bytecode). Loaded here, once, before the first play, they are
already in each forked worker's memory. A no-op ``site.yml`` on 20 testbed hosts used
about 5 % less CPU on the controller with it (docs/performance.md, round thirteen).

It changes nothing a task does or reports, and prints nothing; if loading fails it leaves
the run as it was (the workers load what they need, as without it). pi-k8s's ansible.cfg
enables it (``callbacks_enabled``).
"""

from __future__ import annotations

import importlib
from pathlib import Path

from ansible import constants as C
from ansible.plugins import loader
from ansible.plugins.callback import CallbackBase
from ansible.utils.display import Display

DOCUMENTATION = r"""
name: preload
type: aggregate
short_description: Load the plugins every task needs once, before Ansible forks its workers
description:
  - Before the first play, loads Ansible's own action, lookup, filter and test plugins, the
    default connection, become and shell plugins, and this collection's filters in
    ansible-playbook's process, so that the worker process forked for each task on each
    host finds them loaded instead of importing (and, for a collection's plugins, compiling)
    them again.
  - Changes nothing a task does or reports, and prints nothing.
requirements:
  - enable it with C(callbacks_enabled = pik8s.cluster.preload) in ansible.cfg
"""

display = Display()


def _collection_filters() -> None:
    """Import this collection's filter modules and resolve each filter they provide by its
    fully qualified name, as a task's template would."""
    parts = __name__.split(".")
    if len(parts) < 3 or parts[0] != "ansible_collections":
        return  # not loaded as a collection's plugin
    fqcn = f"{parts[1]}.{parts[2]}"
    package = f"ansible_collections.{fqcn}.plugins.filter"
    for path in sorted((Path(__file__).resolve().parent.parent / "filter").glob("*.py")):
        if path.stem.startswith("_"):
            continue
        module = importlib.import_module(f"{package}.{path.stem}")
        plugin = getattr(module, "FilterModule", None)
        for name in plugin().filters() if plugin else ():
            loader.filter_loader.get(f"{fqcn}.{name}")


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "pik8s.cluster.preload"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self) -> None:
        super().__init__()
        self._loaded = False

    def v2_playbook_on_play_start(self, play: object) -> None:
        if self._loaded:
            return
        self._loaded = True
        steps = (
            lambda: [None for _ in loader.action_loader.all(class_only=True)],
            lambda: [None for _ in loader.lookup_loader.all(class_only=True)],
            lambda: [None for _ in loader.filter_loader.all()],
            lambda: [None for _ in loader.test_loader.all()],
            lambda: loader.connection_loader.get(C.DEFAULT_TRANSPORT, class_only=True),
            lambda: loader.connection_loader.get("local", class_only=True),
            lambda: loader.become_loader.get(C.DEFAULT_BECOME_METHOD, class_only=True),
            lambda: loader.shell_loader.get("sh", class_only=True),
            _collection_filters,
        )
        for step in steps:
            try:
                step()
            except Exception as exc:  # an optimisation must never fail a run
                display.vvv(f"pik8s.cluster.preload: a worker loads it instead ({exc})")
