"""plugins/callback/worker_gc.py: a forked worker's collector leaves what it inherited alone.

These tests run real ansible-playbook with the repository's ansible.cfg (which enables the
callback) and look from inside a worker, with a lookup written for the test (a lookup runs
in the worker), at Python's collector there: how many objects sit in its permanent
generation, and whether a reference cycle the worker makes is still collected. Without the
callback (another one named in callbacks_enabled) the worker has nothing frozen, so the
check can fail.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from tests.local_playbook import run_with_lookups

# A lookup that reports, from the worker it runs in, how many objects its collector has
# frozen, and how many objects a collection finds in a cycle the worker has just dropped.
LOOKUP = """
import gc
import os
from ansible.plugins.lookup import LookupBase


class LookupModule(LookupBase):
    def run(self, terms, variables=None, **kwargs):
        frozen = gc.get_freeze_count()
        cycle = {}
        cycle["self"] = cycle
        del cycle
        return [{"pid": os.getpid(), "frozen": frozen, "collected": gc.collect()}]
"""


def _worker(tmp_path: Path, env: dict[str, str]) -> dict[str, int]:
    play = [
        {
            "hosts": "localhost",
            "connection": "local",
            "gather_facts": False,
            "tasks": [{"ansible.builtin.debug": {"msg": "{{ lookup('worker_gc') | to_json }}"}}],
        }
    ]
    (task,) = run_with_lookups(play, tmp_path, {"worker_gc": LOOKUP}, env)
    return json.loads(task["hosts"]["localhost"]["msg"])


def test_a_worker_starts_with_what_it_inherited_frozen(tmp_path: Path) -> None:
    worker = _worker(tmp_path, {})
    assert worker["pid"] != os.getpid()
    # ansible-playbook's heap (its modules, the play, the host's variables) is frozen in
    # the worker: tens of thousands of objects, none of which the worker's collections walk
    assert worker["frozen"] > 10_000
    # and what the worker makes itself is still collected
    assert worker["collected"] >= 1


def test_without_the_callback_a_worker_walks_everything(tmp_path: Path) -> None:
    # The control: nothing frozen, cycles collected all the same.
    off = {"ANSIBLE_CALLBACKS_ENABLED": "ansible.builtin.minimal"}
    worker = _worker(tmp_path, off)
    assert worker["frozen"] == 0
    assert worker["collected"] >= 1
