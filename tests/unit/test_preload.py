"""plugins/callback/preload.py: the plugins a task needs are loaded before Ansible forks.

Each task on each host runs in a worker process forked from ansible-playbook's process.
These tests run real ansible-playbook with the repository's ansible.cfg (which enables the
callback) and look from inside a worker, with a lookup written for the test (a lookup runs
in the worker), at which modules it found already loaded: this collection's filters, a
lookup and an action plugin the play never uses. Without the callback (another one named
in callbacks_enabled) the same worker finds none of them, so the check can fail.
"""

from __future__ import annotations

import json
from pathlib import Path

from tests.local_playbook import run_with_lookups

# A lookup that reports, from the worker it runs in, which of these modules are loaded.
LOOKUP = """
import sys
from ansible.plugins.lookup import LookupBase


class LookupModule(LookupBase):
    def run(self, terms, variables=None, **kwargs):
        loaded = [m for m in sys.modules]
        return [{name: any(m == name or m.endswith("." + name) for m in loaded) for name in terms}]
"""

MODULES = [
    "ansible_collections.pik8s.cluster.plugins.filter.hosts_due",
    "ansible_collections.pik8s.cluster.plugins.filter.host_state",
    "ansible_collections.pik8s.cluster.plugins.filter.k3s_registries",
    "plugins.lookup.fileglob",
    "plugins.action.validate_argument_spec",
]


def _loaded(tmp_path: Path, env: dict[str, str]) -> dict[str, bool]:
    play = [
        {
            "hosts": "localhost",
            "connection": "local",
            "gather_facts": False,
            "tasks": [
                {
                    "ansible.builtin.debug": {
                        "msg": "{{ lookup('loaded_modules', *modules) | to_json }}",
                    },
                    "vars": {"modules": MODULES},
                }
            ],
        }
    ]
    (task,) = run_with_lookups(play, tmp_path, {"loaded_modules": LOOKUP}, env)
    return json.loads(task["hosts"]["localhost"]["msg"])


def test_workers_find_the_plugins_loaded(tmp_path: Path) -> None:
    assert _loaded(tmp_path, {}) == dict.fromkeys(MODULES, True)


def test_without_the_callback_each_worker_loads_its_own(tmp_path: Path) -> None:
    # The control: the same worker without it has none of them yet (callbacks_enabled names
    # a stdout callback instead, which Ansible does not load beside the json one).
    off = {"ANSIBLE_CALLBACKS_ENABLED": "ansible.builtin.minimal"}
    assert _loaded(tmp_path, off) == dict.fromkeys(MODULES, False)


# A lookup that reports, from the worker it runs in, which filter and test names the
# callback's kept answers already hold (None: the loader is not wrapped).
ANSWERS = """
from ansible.plugins import loader
from ansible.plugins.lookup import LookupBase


class LookupModule(LookupBase):
    def run(self, terms, variables=None, **kwargs):
        answers = getattr(loader.Jinja2Loader, "_pik8s_answers", None)
        if answers is None:
            return [None]
        return [sorted(f"{kind}:{name}" for kind, _, name in answers if f"{kind}:{name}" in terms)]
"""

# Names whose lookups the workers would otherwise each repeat: Jinja's own filter and test
# (not ansible-core plugins: the loader searches ansible.builtin's files for them first)
# and this collection's filters.
KEPT = ["filter:length", "filter:default", "test:defined", "filter:pik8s.cluster.hosts_due"]

# What a template gets from each kind of name (found by the loader, Jinja's own, a
# collection's); and a name that is no plugin: the same error message every time.
RENDERED = {
    "msg": (
        "{{ [1, 2] | length }} {{ none | default('d', true) }} {{ 'a' is match('a') }}"
        " {{ {'a': 1} | ansible.builtin.to_json }} {{ 'x' | to_json }}"
        " {{ ['h'] | pik8s.cluster.hosts_due({'h': {}}, 'n') }}"
    )
}


def _answers_and_results(tmp_path: Path, env: dict[str, str]) -> tuple[object, list[dict]]:
    ask = {"ansible.builtin.debug": {"msg": "{{ lookup('answers', *names) | to_json }}"}}
    no_filter = {"ansible.builtin.debug": {"msg": "{{ 1 | no_such_filter }}"}}
    no_test = {"ansible.builtin.debug": {"msg": "{{ 1 is no_such_test }}"}}
    play = [
        {
            "hosts": "localhost",
            "connection": "local",
            "gather_facts": False,
            "tasks": [
                {**ask, "vars": {"names": KEPT}},
                {"ansible.builtin.debug": RENDERED},
                {"ansible.builtin.debug": RENDERED},  # a second worker: kept answers, if any
                {**no_filter, "ignore_errors": True},
                {**no_filter, "ignore_errors": True},
                {**no_test, "ignore_errors": True},
            ],
        }
    ]
    tasks = run_with_lookups(play, tmp_path, {"answers": ANSWERS}, env)
    results = [task["hosts"]["localhost"] for task in tasks]
    answers = json.loads(results[0]["msg"])
    return answers, [{"msg": r.get("msg"), "failed": r.get("failed", False)} for r in results[1:]]


def test_filter_and_test_names_are_answered_once_for_the_run(tmp_path: Path) -> None:
    (tmp_path / "on").mkdir()
    answers, results = _answers_and_results(tmp_path / "on", {})
    # looked up before the first play: the worker finds them answered
    assert answers == sorted(KEPT)
    # and every kind of name renders as without the callback, errors included
    (tmp_path / "off").mkdir()
    off = {"ANSIBLE_CALLBACKS_ENABLED": "ansible.builtin.minimal"}
    answers_off, results_off = _answers_and_results(tmp_path / "off", off)
    assert answers_off is None  # the control: no kept answers without it
    assert results == results_off
    assert results[0] == {"msg": '2 d True {"a": 1} "x" [\'h\']', "failed": False}
    assert results[2]["failed"] and "no_such_filter" in results[2]["msg"]
    assert results[2] == results[3]  # the kept "no such plugin" answer fails the same way
    assert results[4]["failed"] and "no_such_test" in results[4]["msg"]
