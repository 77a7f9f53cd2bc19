"""plugins/callback/module_bytecode.py: modules reach the host compiled, beside their source.

The run-level tests run real ansible-playbook on this machine (local connection) with a
module written for the test that reports where its Python found ``basic`` and itself: from
the ``.pyc`` in the zip with the repository's ansible.cfg (which enables the callback), from
the ``.py`` without it. The zip-level tests import from a zip the callback's writer made,
in another Python process: as a host with the controller's Python does, and as one with
another version does (the same zip, each ``.pyc`` given another magic number).
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests.local_playbook import REPO, run_json

sys.path.insert(0, str(REPO / "plugins" / "callback"))
import module_bytecode  # the plugin's module, as a plain module

sys.path.pop(0)

MODULE = """#!/usr/bin/python
from __future__ import annotations

import sys

from ansible.module_utils import basic
from ansible.module_utils.basic import AnsibleModule


def main():
    module = AnsibleModule(argument_spec={"n": {"type": "int", "required": True}})
    module.exit_json(changed=False, basic=basic.__file__, me=__file__,
                     double=module.params["n"] * 2, python=list(sys.version_info[:2]))


main()
"""


def _where(tmp_path: Path, env: dict[str, str]) -> dict[str, object]:
    library = tmp_path / "library"
    library.mkdir()
    (library / "where_from.py").write_text(MODULE)
    play = [
        {
            "hosts": "localhost",
            "connection": "local",
            "gather_facts": False,
            "vars": {"ansible_python_interpreter": sys.executable},
            "tasks": [{"where_from": {"n": 21}}],
        }
    ]
    (task,) = run_json(play, tmp_path, {"ANSIBLE_LIBRARY": str(library), **env})
    return task["hosts"]["localhost"]


def test_a_host_with_the_controllers_python_runs_the_compiled_code(tmp_path: Path) -> None:
    seen = _where(tmp_path, {})
    assert seen["double"] == 42
    assert str(seen["basic"]).endswith("/ansible/module_utils/basic.pyc")
    assert str(seen["me"]).endswith("where_from.pyc")


def test_without_the_callback_the_host_compiles_the_source(tmp_path: Path) -> None:
    seen = _where(tmp_path, {"ANSIBLE_CALLBACKS_ENABLED": "ansible.builtin.minimal"})
    assert seen["double"] == 42
    assert str(seen["basic"]).endswith("/ansible/module_utils/basic.py")
    assert str(seen["me"]).endswith("where_from.py")


SOURCE = """VALUE = 6 * 7


def boom():
    raise ValueError("boom from the source line")
"""

IMPORT = """
import json, sys, traceback
sys.path.insert(0, sys.argv[1])
from pkg import mod
try:
    mod.boom()
except ValueError:
    shown = traceback.format_exc()
print(json.dumps({"file": mod.__file__, "value": mod.VALUE, "traceback": shown}))
"""


def _payload(path: Path) -> Path:
    """A zip as Ansible writes a payload's sources, through the callback's writer."""
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        writer = module_bytecode._WithBytecode(zf)
        writer.writestr(zipfile.ZipInfo("pkg/__init__.py"), b"")
        writer.writestr(zipfile.ZipInfo("pkg/mod.py"), SOURCE)
    return path


def _import(path: Path) -> dict[str, object]:
    proc = subprocess.run(
        [sys.executable, "-c", IMPORT, str(path)], capture_output=True, text=True, check=True
    )
    return json.loads(proc.stdout)


def test_the_zip_holds_unchecked_bytecode_of_each_source(tmp_path: Path) -> None:
    with zipfile.ZipFile(_payload(tmp_path / "p.zip")) as zf:
        # An empty __init__.py has nothing to compile.
        assert zf.namelist() == ["pkg/__init__.py", "pkg/mod.py", "pkg/mod.pyc"]
        pyc = zf.read("pkg/mod.pyc")
    assert pyc[:4] == importlib.util.MAGIC_NUMBER
    assert int.from_bytes(pyc[4:8], "little") == 0b01  # hash-based, source not checked
    assert pyc[8:16] == importlib.util.source_hash(SOURCE.encode())


def test_python_imports_the_bytecode_and_shows_the_source_in_tracebacks(tmp_path: Path) -> None:
    seen = _import(_payload(tmp_path / "p.zip"))
    assert str(seen["file"]).endswith("pkg/mod.pyc")
    assert seen["value"] == 42
    assert 'raise ValueError("boom from the source line")' in str(seen["traceback"])


def test_a_host_with_another_python_compiles_the_source(tmp_path: Path) -> None:
    # Another Python version has another magic number: its zip importer skips the .pyc.
    built = _payload(tmp_path / "p.zip")
    other = tmp_path / "other.zip"
    with zipfile.ZipFile(built) as src, zipfile.ZipFile(other, "w") as dst:
        for info in src.infolist():
            data = src.read(info)
            if info.filename.endswith(".pyc"):
                data = bytes([data[0] ^ 0xFF]) + data[1:]
            dst.writestr(info, data)
    seen = _import(other)
    assert str(seen["file"]).endswith("pkg/mod.py")
    assert seen["value"] == 42


@pytest.mark.parametrize(
    ("source", "why"), [(b"", "empty"), (b"  \n", "blank"), (b"def broken(:\n", "no syntax")]
)
def test_nothing_to_compile_adds_no_bytecode(source: bytes, why: str) -> None:
    assert module_bytecode.bytecode("m.py", source) is None, why


def test_a_file_it_cannot_compile_goes_as_source_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def fails(name: str, source: bytes) -> bytes:
        raise RecursionError("too deep")

    monkeypatch.setattr(module_bytecode, "bytecode", fails)
    with zipfile.ZipFile(_payload(tmp_path / "p.zip")) as zf:
        assert zf.namelist() == ["pkg/__init__.py", "pkg/mod.py"]


def test_it_wraps_once_and_only_the_functions_it_knows(monkeypatch: pytest.MonkeyPatch) -> None:
    common = module_bytecode.module_common
    monkeypatch.setattr(common, "recursive_finder", common.recursive_finder)
    monkeypatch.setattr(common, "_add_module_to_zip", common._add_module_to_zip)
    assert module_bytecode.install() is True  # nothing in this process wrapped them before
    assert common.recursive_finder.pik8s_module_bytecode
    assert module_bytecode.install() is False  # already wrapped
    # A recursive_finder that no longer takes the zip fourth is left alone.
    monkeypatch.setattr(common, "recursive_finder", lambda name, zf: None)
    monkeypatch.setattr(common, "_add_module_to_zip", lambda zf, *args: None)
    assert module_bytecode.install() is False
