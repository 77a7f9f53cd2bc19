"""Load the plugins every task needs once, in ansible-playbook's own process.

Ansible runs each task on each host in a worker process forked from ansible-playbook's
process. A plugin the worker needs and that process has not loaded yet (the action, the
lookups, the filters and tests, the connection) is found and imported again in every
worker, and this collection's filters are compiled again in every worker too (Ansible's
collection loader keeps no bytecode). Loaded here, once, before the first play, they are
already in each forked worker's memory. A no-op ``site.yml`` on 20 testbed hosts used
about 5 % less CPU on the controller with it (docs/performance.md, round thirteen).

It also resolves each filter and test name once per run. Ansible looks a name up again for
each new Jinja environment (several per task), and a name that is not a plugin of
ansible-core's own files (Jinja's ``length``, ``default``, ``list``; a collection's
filters) is searched for through a collection's plugin files every time. Here the answer
to each lookup is kept (found, not a plugin, or no such name), and the names Jinja
provides and this collection's filters are looked up before the first play, so that the
workers find them answered (docs/performance.md, round fifteen).

It changes nothing a task does or reports, and prints nothing; if loading fails it leaves
the run as it was (the workers load what they need, as without it). pi-k8s's ansible.cfg
enables it (``callbacks_enabled``).
"""

from __future__ import annotations

import contextlib
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
  - Keeps the answer to each filter and test name lookup for the run (Ansible searches a
    collection's plugin files again for each new Jinja environment), and looks up Jinja's
    own filters and tests and this collection's filters before the first play.
  - Changes nothing a task does or reports, and prints nothing.
requirements:
  - enable it with C(callbacks_enabled = pik8s.cluster.preload) in ansible.cfg
"""

display = Display()


class _Missing:
    """A name the loader had no plugin for (it raised KeyError with these arguments)."""

    def __init__(self, args: tuple) -> None:
        self.args = args


def _remember_jinja_plugins() -> None:
    """Keep each answer of the filter and test loaders' lookup by name for the run.

    The plugins a run can load do not change while it runs (Ansible keeps its own plugins'
    answers the same way); only a plain lookup by name is kept, and an error other than
    "no such plugin" is raised each time, as without this.
    """
    jinja_loader = loader.Jinja2Loader
    if getattr(jinja_loader, "_pik8s_answers", None) is not None:
        return
    original = jinja_loader.get_with_context
    answers: dict[tuple[str, str, str], object] = {}

    def get_with_context(self, name, *args, **kwargs):
        if args or kwargs or not isinstance(name, str):
            return original(self, name, *args, **kwargs)
        key = (self.type, self.package, name)
        answer = answers.get(key)
        if answer is None:
            try:
                answer = original(self, name)
            except KeyError as exc:
                answer = _Missing(exc.args)
            answers[key] = answer
        if isinstance(answer, _Missing):
            raise KeyError(*answer.args)
        return answer

    jinja_loader.get_with_context = get_with_context
    jinja_loader._pik8s_answers = answers  # marks the class as wrapped


def _jinja_names() -> None:
    """Look up the filters and tests Jinja provides (ansible-core's loaders search a
    collection's files for them first), through the answers kept above."""
    import jinja2.filters  # Ansible has imported them by now
    import jinja2.tests

    for plugins, names in (
        (loader.filter_loader, jinja2.filters.FILTERS),
        (loader.test_loader, jinja2.tests.TESTS),
    ):
        for name in names:
            with contextlib.suppress(KeyError):
                plugins.get(name)


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
            _remember_jinja_plugins,
            _jinja_names,
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
