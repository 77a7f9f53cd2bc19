"""Send each module's Python code to the host compiled, beside its source.

Ansible runs a Python module on a host by sending it a zip of the module and the
``module_utils`` it imports (AnsiballZ), as source only. Python cannot cache the bytecode
of code it imports from a zip, so every module run compiles the same files again on the
host: about 55 of them, since every module imports ``ansible.module_utils.basic``. On a
testbed host that was 0.10 s of the 0.26 s one run of pi-k8s's ``host_state`` spent in
Python (cProfile), and the run took 0.35 s of CPU in all; with the compiled code in the zip,
0.22 s (docs/performance.md, round twenty-one).

This callback has Ansible add a ``.pyc`` for each ``.py`` it writes into the zip, compiled
by the controller's Python, in the form Python's zip importer loads without compiling the
source (hash-based, unchecked: the code was compiled from the source beside it). A host
whose Python is another version (another bytecode magic number) skips each ``.pyc`` and
compiles the source as before: Python's zip importer does that for a file whose magic
number is not its own. So it saves the compile on a host whose Python has the
controller's minor version (Raspberry Pi OS and Debian 12: 3.11) and costs the others only
the larger zip (for ``host_state``, 0.35 MB of base64 becomes 0.92 MB). Tracebacks still
show each line of source (the source is in the zip as before).

It changes nothing a task does or reports and prints nothing; if Ansible no longer builds
the zip through the functions it wraps, the run goes on as Ansible has it. Modules that run
another way (Mitogen's strategy with ``--fast``, PowerShell, binary modules) are not
touched. pi-k8s's ansible.cfg enables it (``callbacks_enabled``).
"""

from __future__ import annotations

import importlib.util
import inspect
import zipfile
from importlib._bootstrap_external import _code_to_hash_pyc  # type: ignore[attr-defined]
from typing import Any

from ansible.executor import module_common
from ansible.plugins.callback import CallbackBase
from ansible.utils.display import Display

DOCUMENTATION = r"""
name: module_bytecode
type: aggregate
short_description: Send each Python module's code to the host compiled, beside its source
description:
  - Adds a compiled C(.pyc) (hash-based, unchecked) beside each C(.py) in the zip Ansible
    sends a host to run a Python module (AnsiballZ), so that a host whose Python has the
    controller's version imports the module and its C(module_utils) without compiling
    them. A host with another Python version compiles the sources, as without it.
  - Changes nothing a task does or reports, and prints nothing.
requirements:
  - enable it with C(callbacks_enabled = pik8s.cluster.module_bytecode) in ansible.cfg
"""

display = Display()


def bytecode(name: str, source: bytes) -> bytes | None:
    """The ``.pyc`` content Python's zip importer loads for ``name`` (a ``.py`` path in the
    zip) without compiling ``source``; None where there is nothing worth compiling (an
    empty file) or it does not compile here (then the host compiles it, as before)."""
    if not source.strip():
        return None
    try:
        code = compile(source, name, "exec", dont_inherit=True, optimize=0)
    except (SyntaxError, ValueError):
        return None
    return bytes(_code_to_hash_pyc(code, importlib.util.source_hash(source), checked=False))


class _WithBytecode:
    """The payload's zip, but each ``.py`` written is followed by its ``.pyc``."""

    def __init__(self, zf: zipfile.ZipFile) -> None:
        self._zf = zf

    def __getattr__(self, name: str) -> Any:
        return getattr(self._zf, name)

    def writestr(
        self, zinfo: zipfile.ZipInfo | str, data: str | bytes, *args: Any, **kwargs: Any
    ) -> None:
        self._zf.writestr(zinfo, data, *args, **kwargs)
        info = zinfo if isinstance(zinfo, zipfile.ZipInfo) else zipfile.ZipInfo(zinfo)
        if not info.filename.endswith(".py"):
            return
        try:
            pyc = bytecode(info.filename, data.encode() if isinstance(data, str) else bytes(data))
        except Exception as exc:  # an optimisation must never fail a module: send the source
            display.vvv(f"pik8s.cluster.module_bytecode: {info.filename} goes as source ({exc})")
            return
        if pyc is not None:
            compiled = zipfile.ZipInfo(info.filename + "c", date_time=info.date_time)
            compiled.compress_type = self._zf.compression
            self._zf.writestr(compiled, pyc)


# The functions of Ansible's that write the payload's sources, and where each takes the
# zip: recursive_finder(name, module_fqn, module_data, zf, ...) writes the module_utils,
# _add_module_to_zip(zf, ...) the module itself and its packages' __init__.py.
_WRITERS = {"recursive_finder": 3, "_add_module_to_zip": 0}


def _wrap(function: Any, at: int) -> Any:
    """``function``, given the zip it takes at position ``at`` with bytecode."""

    def wrapped(*args: Any, **kwargs: Any) -> Any:
        if len(args) > at:
            args = (*args[:at], _WithBytecode(args[at]), *args[at + 1 :])
        elif "zf" in kwargs:
            kwargs["zf"] = _WithBytecode(kwargs["zf"])
        return function(*args, **kwargs)

    wrapped.pik8s_module_bytecode = True  # type: ignore[attr-defined]
    return wrapped


def _takes_zip(function: Any, at: int) -> bool:
    try:
        params = list(inspect.signature(function).parameters)
    except (TypeError, ValueError):
        return False
    return len(params) > at and params[at] == "zf"


def install() -> bool:
    """Wrap Ansible's functions that write the payload's sources; returns whether this call
    wrapped them (once per process, and only while each takes the zip where it did in
    ansible-core 2.19)."""
    found = {name: getattr(module_common, name, None) for name in _WRITERS}
    if not all(_takes_zip(f, _WRITERS[name]) for name, f in found.items()) or any(
        getattr(f, "pik8s_module_bytecode", False) for f in found.values()
    ):
        return False
    for name, function in found.items():
        setattr(module_common, name, _wrap(function, _WRITERS[name]))
    return True


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "pik8s.cluster.module_bytecode"
    CALLBACK_NEEDS_ENABLED = True

    def v2_playbook_on_start(self, playbook: object) -> None:
        try:
            install()
        except Exception as exc:  # an optimisation must never fail a run
            display.vvv(f"pik8s.cluster.module_bytecode: modules go as source only ({exc})")
