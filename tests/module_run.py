"""Run one of the collection's modules on this machine from a unit test, as Ansible runs it.

The module file is started with an arguments file (``ANSIBLE_MODULE_ARGS``), so its real
argument checks, check mode and diff handling run; its JSON result is returned.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

MODULES = Path(__file__).resolve().parent.parent / "plugins" / "modules"


def run_module(
    name: str,
    params: dict[str, Any],
    tmp: Path,
    *,
    check_mode: bool = False,
    diff: bool = False,
) -> dict[str, Any]:
    """Run ``plugins/modules/<name>.py`` with ``params``; its arguments file goes in ``tmp``."""
    args = dict(params, _ansible_check_mode=check_mode, _ansible_diff=diff)
    args_file = tmp / f"{name}.args.json"
    args_file.write_text(json.dumps({"ANSIBLE_MODULE_ARGS": args}))
    proc = subprocess.run(
        [sys.executable, str(MODULES / f"{name}.py"), str(args_file)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    return json.loads(proc.stdout)
