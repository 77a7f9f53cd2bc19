"""plugins/filter/argument_spec.py: a role's argument spec options, read once per process.

The roles' use of it is proven where their specs refuse bad input: the first play's cases in
tests/integration/test_validate_first.py (pi_prereq_spec, k3s_agent_spec) and
tests/badinput/.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
import yaml
from ansible.errors import AnsibleFilterError

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "plugins" / "filter"))
from argument_spec import FilterModule, argument_spec  # noqa: E402

sys.path.pop(0)

ROLES = sorted(p.parent.parent for p in (REPO / "roles").glob("*/meta/argument_specs.yml"))


@pytest.mark.parametrize("role", ROLES, ids=[r.name for r in ROLES])
def test_every_entry_of_every_role_reads_as_yaml_reads_it(role: Path) -> None:
    specs = yaml.safe_load((role / "meta" / "argument_specs.yml").read_text())["argument_specs"]
    for entry, spec in specs.items():
        assert argument_spec(str(role), entry) == (spec.get("options") or {})


def test_each_call_gets_its_own_copy() -> None:
    role = str(REPO / "roles" / "pi_prereq")
    first = argument_spec(role, "validate")
    first.clear()
    assert argument_spec(role, "validate")
    assert argument_spec(role, "validate") == argument_spec(role, "main")


def test_a_changed_file_is_read_again(tmp_path: Path) -> None:
    spec = tmp_path / "meta" / "argument_specs.yml"
    spec.parent.mkdir()
    spec.write_text("argument_specs:\n  main:\n    options:\n      a: {type: str}\n")
    assert argument_spec(str(tmp_path)) == {"a": {"type": "str"}}
    spec.write_text("argument_specs:\n  main:\n    options:\n      b: {type: int}\n")
    os.utime(spec, ns=(1, 1))  # a different mtime, however fast the writes were
    assert argument_spec(str(tmp_path)) == {"b": {"type": "int"}}


def test_an_entry_without_options_has_none(tmp_path: Path) -> None:
    (tmp_path / "meta").mkdir()
    (tmp_path / "meta" / "argument_specs.yml").write_text(
        "argument_specs:\n  main:\n    short_description: x\n"
    )
    assert argument_spec(str(tmp_path), "main") == {}


def test_errors_name_the_file_and_the_entries(tmp_path: Path) -> None:
    with pytest.raises(AnsibleFilterError, match=r"cannot read .*argument_specs\.yml"):
        argument_spec(str(tmp_path))
    (tmp_path / "meta").mkdir()
    (tmp_path / "meta" / "argument_specs.yml").write_text(
        "argument_specs:\n  main: {}\n  reset: {}\n"
    )
    with pytest.raises(
        AnsibleFilterError, match=r"no entry point 'validate' \(it has: main, reset\)"
    ):
        argument_spec(str(tmp_path), "validate")
    (tmp_path / "meta" / "argument_specs.yml").write_text("- a list\n")
    with pytest.raises(AnsibleFilterError, match="has no argument_specs mapping"):
        argument_spec(str(tmp_path))


def test_registration() -> None:
    assert FilterModule().filters() == {"argument_spec": argument_spec}
