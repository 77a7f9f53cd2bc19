"""pi_prereq's sysctl module, run for real in a throwaway network namespace.

`unshare --net` gives the module a network namespace of its own, so it reads and writes
real net.* sysctls without touching this machine's. Both branches run here: a host with
its own kernel (every sysctl applied, a refused one fails the task) and a container
(non-net.* sysctls left to the host kernel and reported, never written).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
MODULE = REPO / "plugins" / "modules" / "pi_prereq_sysctl.py"
IP_FORWARD = "/proc/sys/net/ipv4/ip_forward"

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0 or shutil.which("unshare") is None,
    reason="needs root and unshare(1) for a private network namespace (CI runs as root)",
)


def run_module(
    tmp_path: Path, args: dict[str, Any], *, start: str = "0", check_mode: bool = False
) -> tuple[dict[str, Any], str]:
    """Run the module in a new network namespace whose ip_forward starts at ``start``.

    Returns the module's JSON result and ip_forward as the namespace holds it afterwards.
    """
    params = dict(args)
    if check_mode:
        params["_ansible_check_mode"] = True
    args_file = tmp_path / "args.json"
    args_file.write_text(json.dumps({"ANSIBLE_MODULE_ARGS": params}))
    script = (
        f"echo {start} > {IP_FORWARD} && "
        f"{sys.executable} {MODULE} {args_file}; rc=$?; "
        f"echo; echo ip_forward=$(cat {IP_FORWARD}); exit $rc"
    )
    proc = subprocess.run(
        ["unshare", "--net", "sh", "-c", script], capture_output=True, text=True, timeout=60
    )
    lines = proc.stdout.strip().splitlines()
    assert lines and lines[-1].startswith("ip_forward="), (proc.stdout, proc.stderr)
    result = json.loads(next(line for line in lines if line.startswith("{")))
    return result, lines[-1].split("=", 1)[1]


def test_own_kernel_sets_a_wrong_value_and_says_so(tmp_path: Path) -> None:
    result, after = run_module(tmp_path, {"sysctls": {"net.ipv4.ip_forward": 1}})
    assert after == "1"
    assert result["changed"] is True
    assert result["set"] == {"net.ipv4.ip_forward": {"before": "0", "after": "1"}}
    assert result["host_owned"] == {}


def test_a_right_value_is_left_alone(tmp_path: Path) -> None:
    result, after = run_module(tmp_path, {"sysctls": {"net.ipv4.ip_forward": 1}}, start="1")
    assert after == "1"
    assert result["changed"] is False and result["set"] == {}


def test_check_mode_reports_the_change_and_writes_nothing(tmp_path: Path) -> None:
    result, after = run_module(tmp_path, {"sysctls": {"net.ipv4.ip_forward": 1}}, check_mode=True)
    assert after == "0"
    assert result["changed"] is True
    assert result["set"] == {"net.ipv4.ip_forward": {"before": "0", "after": "1"}}


def test_container_sets_its_net_sysctls_and_leaves_the_rest_to_the_host(tmp_path: Path) -> None:
    # The machine's own value is asked for, so even a broken module that wrote vm.* from
    # a "container" would not change this machine; the report shows the branch taken.
    swappiness = Path("/proc/sys/vm/swappiness").read_text().strip()
    result, after = run_module(
        tmp_path,
        {
            "sysctls": {"net.ipv4.ip_forward": 1, "vm.swappiness": swappiness},
            "in_container": True,
        },
    )
    assert after == "1"
    assert result["set"] == {"net.ipv4.ip_forward": {"before": "0", "after": "1"}}
    assert result["host_owned"] == {
        "vm.swappiness": "owned by the host kernel (shared by the container)"
    }


def test_own_kernel_fails_on_a_sysctl_the_kernel_does_not_have(tmp_path: Path) -> None:
    result, _ = run_module(tmp_path, {"sysctls": {"net.ipv4.no_such_setting": 1}})
    assert result.get("failed") is True
    assert "Cannot read net.ipv4.no_such_setting" in result["msg"]


def test_container_reports_a_sysctl_its_namespace_does_not_have(tmp_path: Path) -> None:
    result, _ = run_module(
        tmp_path, {"sysctls": {"net.ipv4.no_such_setting": 1}, "in_container": True}
    )
    assert result.get("failed") is not True
    assert result["changed"] is False
    assert result["host_owned"]["net.ipv4.no_such_setting"].startswith(
        "owned by the host kernel: No such file or directory"
    )
