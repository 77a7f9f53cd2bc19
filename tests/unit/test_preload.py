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
