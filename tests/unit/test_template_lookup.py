"""plugins/lookup/template.py: a role's template, as ansible.builtin.template renders it.

The roles render the files they would write with ``pik8s.cluster.template`` on every run,
to compare them with what a host holds, and write them with the same text. These tests
run real ansible-playbook: each of a set of templates (every template variable Ansible
adds, an include, trim_blocks, a backslash, nested and registered variables) renders the
same through this lookup and through ansible.builtin.template's, within a role (its
templates directory) and a play; the lookup deep-copies no variable dict while the
builtin one does (the control); options and a missing file are refused with a message.
"""

from __future__ import annotations

import json
from pathlib import Path

from tests.local_playbook import REPO, run_local_playbook

TEMPLATES = {
    "managed.j2": "# {{ ansible_managed }}\n{{ template_path }} {{ template_fullpath }}"
    " {{ template_host }} {{ template_uid }} {{ template_mtime }}\n",
    "include.j2": "before\n{% include 'part.j2' %}\nafter {{ answer }}\n",
    "part.j2": "{% for x in items %}\n- {{ x }}\n{% endfor %}\n",
    "escapes.j2": "{{ 'a\\nb' | length }} \\n {{ nested.inner.list | join(',') }}"
    " {{ seen.stdout }}\n",
}
# template_run_date differs between two renders; the rest must not
COMPARED = sorted(TEMPLATES)

# Records, in a file, each copy.deepcopy of a dict that holds a task's variables.
SITECUSTOMIZE = """
import copy, os
_orig = copy.deepcopy
def deepcopy(x, memo=None, _nil=[]):
    if isinstance(x, dict) and "ansible_search_path" in x:
        with open(os.environ["DEEPCOPY_LOG"], "a") as f:
            f.write("copied\\n")
    return _orig(x, memo)
copy.deepcopy = deepcopy
"""


def _setup(tmp: Path) -> Path:
    role = tmp / "roles" / "shown" / "templates"
    role.mkdir(parents=True)
    for name, text in TEMPLATES.items():
        (role / name).write_text(text)
    tasks = tmp / "roles" / "shown" / "tasks"
    tasks.mkdir()
    render = {
        name: {
            "builtin": f"{{{{ lookup('ansible.builtin.template', '{name}') }}}}",
            "ours": f"{{{{ lookup('pik8s.cluster.template', '{name}') }}}}",
        }
        for name in COMPARED
    }
    (tasks / "main.yml").write_text(
        json.dumps(
            [
                {
                    "name": "Register something.",
                    "ansible.builtin.command": "echo registered",
                    "register": "seen",
                    "changed_when": False,
                },
                {"name": "Render both ways.", "ansible.builtin.debug": {"msg": render}},
            ]
        )
    )
    return tmp


def _play(tmp: Path, tasks: list[dict], env: dict[str, str] | None = None):
    play = [
        {
            "hosts": "localhost",
            "connection": "local",
            "gather_facts": False,
            "vars": {"answer": 42, "items": ["x", "y"], "nested": {"inner": {"list": [1, 2]}}},
            "tasks": tasks,
        }
    ]
    return run_local_playbook(
        play,
        tmp,
        env={
            "ANSIBLE_CONFIG": str(REPO / "ansible.cfg"),
            "ANSIBLE_ROLES_PATH": str(tmp / "roles"),
            "ANSIBLE_STDOUT_CALLBACK": "ansible.builtin.json",
            **(env or {}),
        },
    )


def test_renders_as_the_builtin_lookup_in_a_role(tmp_path: Path) -> None:
    _setup(tmp_path)
    proc = _play(tmp_path, [{"ansible.builtin.include_role": {"name": "shown"}}])
    assert proc.returncode == 0, proc.stdout + proc.stderr
    tasks = json.loads(proc.stdout)["plays"][0]["tasks"]
    shown = tasks[-1]["hosts"]["localhost"]["msg"]
    for name in COMPARED:
        assert shown[name]["ours"] == shown[name]["builtin"], name
    assert shown["include.j2"]["ours"] == "before\n- x\n- y\nafter 42\n"
    assert shown["managed.j2"]["ours"].startswith("# Ansible managed\nmanaged.j2 ")
    assert shown["escapes.j2"]["ours"] == "3 \\n 1,2 registered\n"


def test_copies_no_variables_where_the_builtin_does(tmp_path: Path) -> None:
    _setup(tmp_path)
    (tmp_path / "site").mkdir()
    (tmp_path / "site" / "sitecustomize.py").write_text(SITECUSTOMIZE)
    counts = {}
    for lookup in ("pik8s.cluster.template", "ansible.builtin.template"):
        log = tmp_path / f"{lookup}.log"
        task = {
            "ansible.builtin.debug": {
                "msg": f"{{{{ lookup('{lookup}', 'roles/shown/templates/part.j2') }}}}"
            },
        }
        env = {"PYTHONPATH": str(tmp_path / "site"), "DEEPCOPY_LOG": str(log)}
        proc = _play(tmp_path, [task], env)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        counts[lookup] = len(log.read_text().splitlines()) if log.exists() else 0
    assert counts == {"pik8s.cluster.template": 0, "ansible.builtin.template": 1}


def test_refuses_options_and_a_missing_file(tmp_path: Path) -> None:
    _setup(tmp_path)
    for term, needle in (
        ("'part.j2', variable_start_string='[%'", "takes no options"),
        ("'nowhere.j2'", "the template file nowhere.j2 could not be found"),
    ):
        task = {
            "ansible.builtin.debug": {"msg": f"{{{{ lookup('pik8s.cluster.template', {term}) }}}}"}
        }
        proc = _play(tmp_path, [task])
        assert proc.returncode != 0
        assert needle in proc.stdout, proc.stdout
