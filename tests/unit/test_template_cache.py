"""plugins/callback/template_cache.py: a template is compiled once per run, not per worker.

Each task on each host runs in a worker process forked from ansible-playbook's process;
without the cache every worker compiles again each template it renders. These tests run
real ansible-playbook with the repository's ansible.cfg (which enables the callback) and
look from inside the workers, with a lookup written for the test, at the cache's counters:
the second task's worker loads what the first one compiled and compiles nothing. They also
render the templates whose compiled code differs for the same text (a backslash in an
argument and in a template file; a ``#jinja2:`` header that changes the delimiters of an
otherwise identical template; an expression and a template) with and without the cache,
and compare the results. CodeCache's own behaviour (a damaged or unwritable directory) is
tested in this process.
"""

from __future__ import annotations

import configparser
import fcntl
import json
import marshal
import os
import select
import sys
import time
from pathlib import Path

import pytest

from tests.local_playbook import REPO, run_with_lookups

sys.path.insert(0, str(REPO / "plugins" / "callback"))
import template_cache  # the plugin's module, as a plain module

sys.path.pop(0)

# A lookup that reports this worker's cache counters (None: no cache installed).
LOOKUP = """
from ansible._internal._templating._jinja_bits import AnsibleEnvironment
from ansible.plugins.lookup import LookupBase


class LookupModule(LookupBase):
    def run(self, terms, variables=None, **kwargs):
        cache = getattr(AnsibleEnvironment, "_pik8s_template_cache", None)
        return [None if cache is None else {"compiled": cache.compiled, "loaded": cache.loaded}]
"""

# The same text, with a backslash: task arguments escape backslashes in Jinja string
# constants, template files do not, so each compiles to different code.
BACKSLASH = "{{ 'a\\nb' | length }}"
# Identical bodies; one header changes the variable delimiters (Ansible strips the header).
HEADER = "#jinja2:variable_start_string:'[%', variable_end_string:'%]'\n[% 1 + 1 %] {{ 1 + 1 }}"
PLAIN = "[% 1 + 1 %] {{ 1 + 1 }}"

TASK = {
    "ansible.builtin.debug": {
        "msg": {
            "arg": BACKSLASH,
            "file": "{{ lookup('ansible.builtin.template', 'backslash.j2') }}",
            "header": "{{ lookup('ansible.builtin.template', 'header.j2') }}",
            "plain": "{{ lookup('ansible.builtin.template', 'plain.j2') }}",
            "expression": "{{ '[% 1 + 1 %] {{ 1 + 1 }}' if (1 + 1 == 2) else 'no' }}",
            "conditional": "{{ 'when passed' }}",
            "stats": "{{ lookup('template_cache_stats') }}",
        }
    },
    "when": "1 + 1 == 2",
}


def _run(tmp_path: Path, env: dict[str, str]) -> list[dict]:
    templates = tmp_path / "templates"
    templates.mkdir()
    (templates / "backslash.j2").write_text(BACKSLASH)
    (templates / "header.j2").write_text(HEADER)
    (templates / "plain.j2").write_text(PLAIN)
    play = [{"hosts": "localhost", "connection": "local", "gather_facts": False}]
    play[0]["tasks"] = [TASK, TASK]
    local_tmp = {"ANSIBLE_LOCAL_TEMP": str(tmp_path / "local-tmp")}
    tasks = run_with_lookups(play, tmp_path, {"template_cache_stats": LOOKUP}, local_tmp | env)
    return [task["hosts"]["localhost"]["msg"] for task in tasks]


def test_the_second_worker_loads_what_the_first_compiled(tmp_path: Path) -> None:
    first, second = _run(tmp_path, {})
    assert first["stats"]["compiled"] > 0
    # everything the second worker renders, the first (or ansible-playbook's own process,
    # which it was forked from) compiled before
    assert second["stats"]["compiled"] == 0
    assert second["stats"]["loaded"] > 0
    # and the run's directory is gone with the run
    assert not list((tmp_path / "local-tmp").glob("*/pik8s-templates"))


def test_results_are_those_without_the_cache(tmp_path: Path) -> None:
    (tmp_path / "on").mkdir()
    (tmp_path / "off").mkdir()
    on = _run(tmp_path / "on", {})
    off = _run(tmp_path / "off", {"ANSIBLE_CALLBACKS_ENABLED": "ansible.builtin.minimal"})
    assert [task.pop("stats") for task in off] == [None, None]  # the control: no cache there
    assert all(task.pop("stats") for task in on)
    assert on == off
    # the cases differ from each other where their compiled code does
    expected = off[0]
    assert expected["arg"] != expected["file"]
    assert expected["header"] == "2 {{ 1 + 1 }}"
    assert expected["plain"] == "[% 1 + 1 %] 2"


def test_a_damaged_entry_is_compiled_again(tmp_path: Path) -> None:
    code = compile("x = 1", "<template>", "exec")
    key = template_cache.CodeCache(str(tmp_path), "salt").key("template", "{{ x }}")
    for damage in (b"not marshal data", marshal.dumps(("not", "code"))):
        (tmp_path / key).write_bytes(damage)
        cache = template_cache.CodeCache(str(tmp_path), "salt")
        assert cache.get(key) is None
        assert cache.get_or_compile(key, lambda: code) is code and cache.compiled == 1
    fresh = template_cache.CodeCache(str(tmp_path), "salt")
    assert fresh.get(key) == code and fresh.loaded == 1


def test_a_process_waits_for_the_one_compiling_the_same_template(tmp_path: Path) -> None:
    # This process holds the key's lock, as a worker compiling it would; a second process
    # asks for the same key meanwhile. It must wait, then load what was put, not compile.
    cache = template_cache.CodeCache(str(tmp_path), "salt")
    key = cache.key("template", "{{ x }}")
    code = compile("x = 1", "<template>", "exec")
    lock = os.open(tmp_path / f"{key}.lock", os.O_RDWR | os.O_CREAT, 0o600)
    fcntl.flock(lock, fcntl.LOCK_EX)
    read, write = os.pipe()
    child = os.fork()
    if child == 0:  # the other worker, with its own open lock file (not this one's)
        try:
            os.close(lock)
            other = template_cache.CodeCache(str(tmp_path), "salt")
            got = other.get_or_compile(key, lambda: compile("x = 2", "<template>", "exec"))
            os.write(write, json.dumps([got == code, other.compiled, other.loaded]).encode())
        finally:
            os._exit(0)
    time.sleep(0.5)  # the child is blocked on the lock by now (or still starting: same result)
    assert select.select([read], [], [], 0)[0] == []  # it has not answered while the lock is held
    cache.put(key, code)
    os.close(lock)
    os.waitpid(child, 0)
    assert json.loads(os.read(read, 100)) == [True, 0, 1]


def test_an_unwritable_directory_keeps_it_in_memory(tmp_path: Path) -> None:
    cache = template_cache.CodeCache(str(tmp_path / "missing"), "salt")
    code = compile("x = 1", "<template>", "exec")
    cache.put("k", code)
    assert cache.get("k") is code
    assert template_cache.CodeCache(str(tmp_path / "missing"), "salt").get("k") is None


def test_the_key_covers_its_parts() -> None:
    cache = template_cache.CodeCache("/nonexistent", "salt")
    assert cache.key("template", "{{ x }}", None) != cache.key("expression", "{{ x }}", None)
    assert cache.key("template", "{{ x }}", True) != cache.key("template", "{{ x }}", False)
    assert cache.key("t") != template_cache.CodeCache("/nonexistent", "other").key("t")


@pytest.mark.parametrize(
    "name", ["preload", "template_cache", "worker_gc", "queue_wait", "module_bytecode"]
)
def test_ansible_cfg_enables_it(name: str) -> None:
    cfg = configparser.ConfigParser()
    cfg.read(REPO / "ansible.cfg")
    enabled = cfg["defaults"]["callbacks_enabled"].replace("\n", "").replace(" ", "").split(",")
    assert f"pik8s.cluster.{name}" in enabled
