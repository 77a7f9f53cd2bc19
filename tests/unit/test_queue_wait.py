"""plugins/callback/queue_wait.py: Ansible's main loop sleeps its poll interval, not 0.1 ms.

The run-level test runs real ansible-playbook with the repository's ansible.cfg (which
enables the callback) and looks from inside a worker (forked from ansible-playbook's
process after the callback ran), with a lookup written for the test, at the strategy
module's ``time``: its floor is the run's ``internal_poll_interval``. Without the callback
(another one named in callbacks_enabled) the worker finds the real ``time`` module, so the
check can fail. The sleeps themselves are checked in this process, with a recorded
``time.sleep``.
"""

from __future__ import annotations

import json
import sys
import time

import pytest

from tests.local_playbook import REPO, run_with_lookups

sys.path.insert(0, str(REPO / "plugins" / "callback"))
import queue_wait  # the plugin's module, as a plain module

sys.path.pop(0)

# A lookup that reports, from the worker it runs in, what the strategy module sleeps with.
LOOKUP = """
import time
from ansible.plugins import strategy
from ansible.plugins.lookup import LookupBase


class LookupModule(LookupBase):
    def run(self, terms, variables=None, **kwargs):
        wrapped = strategy.time is not time
        return [{"wrapped": wrapped, "floor": getattr(strategy.time, "floor", None),
                 "monotonic": strategy.time.monotonic is time.monotonic}]
"""


def _strategy_time(tmp_path, env: dict[str, str]) -> dict[str, object]:
    play = [
        {
            "hosts": "localhost",
            "connection": "local",
            "gather_facts": False,
            "tasks": [
                {"ansible.builtin.debug": {"msg": "{{ lookup('strategy_time') | to_json }}"}}
            ],
        }
    ]
    (task,) = run_with_lookups(play, tmp_path, {"strategy_time": LOOKUP}, env)
    return json.loads(task["hosts"]["localhost"]["msg"])


def test_the_run_waits_with_its_poll_interval(tmp_path) -> None:
    # The repository's ansible.cfg with another interval (an ini-only setting), its
    # relative paths made absolute.
    cfg = (REPO / "ansible.cfg").read_text().replace("= ./", f"= {REPO}/")
    cfg = cfg.replace("[defaults]\n", "[defaults]\ninternal_poll_interval = 0.004\n", 1)
    (tmp_path / "ansible.cfg").write_text(cfg)
    seen = _strategy_time(tmp_path, {"ANSIBLE_CONFIG": str(tmp_path / "ansible.cfg")})
    assert seen == {"wrapped": True, "floor": 0.004, "monotonic": True}


def test_without_the_callback_the_loop_spins_as_ansible_has_it(tmp_path) -> None:
    off = {"ANSIBLE_CALLBACKS_ENABLED": "ansible.builtin.minimal"}
    assert _strategy_time(tmp_path, off) == {"wrapped": False, "floor": None, "monotonic": True}


@pytest.fixture
def strategy_module(monkeypatch: pytest.MonkeyPatch):
    """The strategy module with its real ``time`` back after the test, and ``time.sleep``
    recorded instead of slept."""
    monkeypatch.setattr(queue_wait.strategy, "time", time)
    slept: list[float] = []
    monkeypatch.setattr(time, "sleep", slept.append)
    yield queue_wait.strategy, slept


def test_a_short_sleep_lasts_the_floor_and_a_longer_one_its_own(strategy_module) -> None:
    strategy, slept = strategy_module
    assert queue_wait.install(0.001)
    strategy.time.sleep(0.0001)  # the queue's wait while every worker is busy
    strategy.time.sleep(0.001)  # the results' poll
    strategy.time.sleep(0.5)
    assert slept == [0.001, 0.001, 0.5]
    assert strategy.time.time is time.time  # everything else is the real module's


def test_it_installs_once_and_only_over_the_real_module(strategy_module) -> None:
    strategy, _ = strategy_module
    assert not queue_wait.install(0)  # no floor: nothing to do
    assert strategy.time is time
    assert queue_wait.install(0.002)
    assert not queue_wait.install(0.005)  # installed already
    assert strategy.time.floor == 0.002
