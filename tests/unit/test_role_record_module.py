"""pi_prereq's record module, run for real on files in a temporary directory.

The record is what a reset trusts to put a host back: it must be written once (never
overwritten by a later run), hold each file's bytes, mode and link target, and say when
pi-k8s's own files were already there (a host an older pi-k8s prepared).
"""

from __future__ import annotations

import base64
import json
import os
from pathlib import Path
from typing import Any

from tests.module_run import run_module as run_named_module

HEADER = "(?m)^# Kernel (modules|settings) k3s needs"


def run_module(tmp_path: Path, params: dict[str, Any], check_mode: bool = False) -> dict:
    result = run_named_module("pi_prereq_record", params, tmp_path, check_mode=check_mode)
    assert not result.get("failed"), result
    return result


def layout(tmp_path: Path) -> dict[str, Any]:
    (tmp_path / "cmdline.txt").write_text("console=tty1 root=/dev/mmcblk0p2\n")
    (tmp_path / "own.conf").write_text("# mine\n")
    (tmp_path / "own.conf").chmod(0o640)
    os.symlink("/usr/bin/true", tmp_path / "kubectl")
    return {
        "path": str(tmp_path / "state" / "original-state.json"),
        "files": [str(tmp_path / n) for n in ("cmdline.txt", "own.conf", "kubectl", "absent")],
        "sysctls": ["kernel.ostype", "no.such.sysctl"],
        "marks": {str(tmp_path / "own.conf"): HEADER},
        "extra": {"cmdline": str(tmp_path / "cmdline.txt")},
    }


def test_first_run_writes_what_was_there(tmp_path: Path) -> None:
    params = layout(tmp_path)
    result = run_module(tmp_path, params)
    assert result["changed"] is True
    record = json.loads(Path(params["path"]).read_text())
    assert record == result["record"]
    files = record["files"]
    cmdline = files[str(tmp_path / "cmdline.txt")]
    assert base64.b64decode(cmdline["content"]) == b"console=tty1 root=/dev/mmcblk0p2\n"
    assert files[str(tmp_path / "own.conf")]["mode"] == "0640"
    link = files[str(tmp_path / "kubectl")]
    assert (link["type"], link["link"]) == ("link", "/usr/bin/true")
    assert files[str(tmp_path / "absent")] == {"exists": False}
    assert record["sysctls"] == {"kernel.ostype": "Linux", "no.such.sysctl": None}
    assert record["cmdline"] == str(tmp_path / "cmdline.txt")
    assert record["pi_k8s_before"] == []
    assert Path(params["path"]).stat().st_mode & 0o777 == 0o600


def test_a_later_run_keeps_the_first_record(tmp_path: Path) -> None:
    params = layout(tmp_path)
    first = run_module(tmp_path, params)["record"]
    (tmp_path / "cmdline.txt").write_text("console=tty1 root=/dev/mmcblk0p2 cgroup_memory=1\n")
    again = run_module(tmp_path, params)
    assert again["changed"] is False
    assert again["record"] == first


def test_check_mode_writes_nothing(tmp_path: Path) -> None:
    params = layout(tmp_path)
    result = run_module(tmp_path, params, check_mode=True)
    assert result["changed"] is True
    assert not Path(params["path"]).exists()


def test_pi_k8s_files_already_there_are_named(tmp_path: Path) -> None:
    params = layout(tmp_path)
    (tmp_path / "own.conf").write_text("# Ansible managed\n# Kernel settings k3s needs (x).\n")
    record = run_module(tmp_path, params)["record"]
    assert record["pi_k8s_before"] == [str(tmp_path / "own.conf")]
