"""What the VM tests read on a VM before and after pi_prereq: the state k3s depends on.

One SSH command per value, read as a user would check it (``/proc``, ``/sys``,
``systemctl``, ``timedatectl``), so a test compares the VM before and after a run; and
``clock_read``, what pi_prereq's read makes of the clock (tests/clock_read.py), to compare
with timedatectl's answer on the VM's own kernel.
"""

from __future__ import annotations

from typing import Any

from tests.clock_read import clock_read_command

MODULES = ("br_netfilter", "overlay")
SYSCTLS = ("net.ipv4.ip_forward", "net.bridge.bridge-nf-call-iptables")


def module_state(h: Any, name: str) -> str:
    """``loaded`` (/proc/modules), ``built in`` (the kernel's modules.builtin) or ``absent``."""
    loaded = [line.split()[0] for line in h.file("/proc/modules").content_string.splitlines()]
    if name in loaded:
        return "loaded"
    builtin = h.run("cat /lib/modules/$(uname -r)/modules.builtin").stdout.split()
    if any(path.rsplit("/", 1)[-1] == f"{name}.ko" for path in builtin):
        return "built in"
    return "absent"


def sysctl(h: Any, key: str) -> str:
    f = h.file("/proc/sys/" + key.replace(".", "/"))
    return f.content_string.strip() if f.exists else "absent"


def swaps(h: Any) -> list[str]:
    """The swap areas in use (``/proc/swaps`` without its header)."""
    lines = h.file("/proc/swaps").content_string.strip().splitlines()
    assert lines and lines[0].startswith("Filename"), lines
    return [line.split()[0] for line in lines[1:]]


def pi_state(h: Any) -> dict[str, Any]:
    return {
        "boot_id": h.file("/proc/sys/kernel/random/boot_id").content_string.strip(),
        "cmdline": h.file("/proc/cmdline").content_string.split(),
        "controllers": h.file("/sys/fs/cgroup/cgroup.controllers").content_string.split(),
        "swaps": swaps(h),
        "dphys_swapfile": h.run("systemctl is-enabled dphys-swapfile").stdout.strip(),
        "modules": {m: module_state(h, m) for m in MODULES},
        "sysctls": {k: sysctl(h, k) for k in SYSCTLS},
        "ntp_synchronized": h.run("timedatectl show -p NTPSynchronized --value").stdout.strip(),
        "clock_read": h.run(clock_read_command()).stdout.strip(),
        "ntp_server": h.run("timedatectl show-timesync -p ServerAddress --value").stdout.strip(),
    }
