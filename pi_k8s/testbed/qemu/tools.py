"""The host tools test VMs need: checked before anything starts, and run."""

from __future__ import annotations

import os
import platform
import shutil
import subprocess
from pathlib import Path

from pi_k8s.errors import EnvironmentProblem, TestbedError
from pi_k8s.testbed.qemu.arch import Arch

# What QEMU itself takes on top of the guest's RAM (TCG translation cache, devices).
QEMU_OVERHEAD_MB = 256


def _mem_available_mb() -> int:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemAvailable:"):
            return int(line.split()[1]) // 1024
    return 0


def check_environment(arch: Arch, new_vms: int, memory_mb: int) -> None:
    """Fail before anything starts when this machine cannot run ``new_vms`` more VMs."""
    if os.geteuid() != 0:
        raise EnvironmentProblem(
            "Test VMs need root: debootstrap, chroot, a bridge and taps.",
            hint="Run as root (e.g. `sudo make test-vm`).",
        )
    tools = {
        arch.qemu: arch.apt_package,
        "qemu-img": "qemu-utils",
        "debootstrap": "debootstrap",
        "debugfs": "e2fsprogs",
        "mkfs.ext4": "e2fsprogs",
        "dpkg-deb": "dpkg",
        "ip": "iproute2",
        "iptables": "iptables",
        "ssh-keygen": "openssh-client",
        "ssh": "openssh-client",
    }
    if arch.user_static and platform.machine() != arch.name:
        tools[arch.user_static] = "qemu-user-static"
    missing = {tool: pkg for tool, pkg in tools.items() if not shutil.which(tool)}
    if missing:
        pkgs = " ".join(sorted(set(missing.values())))
        raise EnvironmentProblem(
            f"Missing tools for {arch.deb} test VMs: {', '.join(missing)}.",
            hint=f"Install them with `apt-get install {pkgs}` "
            "(or `bash scripts/setup-host.sh --vm`, which `make test-vm` runs).",
        )
    need = new_vms * (memory_mb + QEMU_OVERHEAD_MB)
    available = _mem_available_mb()
    if need > available:
        raise EnvironmentProblem(
            f"Not enough memory for {new_vms} VM(s): they need about {need} MB "
            f"({memory_mb} MB each + {QEMU_OVERHEAD_MB} MB for QEMU), "
            f"{available} MB is available.",
            hint="Pass fewer --nodes, or set PI_K8S_VM_MEMORY_MB lower (e.g. 768).",
        )


# ----------------------------------------------------------------------------- image


def run(cmd: list[str], what: str, hint: str | None = None, **kw: object) -> str:
    proc = subprocess.run(cmd, capture_output=True, check=False, **kw)  # type: ignore[call-overload]
    if proc.returncode != 0:
        out = (proc.stderr or b"").decode(errors="replace") + (proc.stdout or b"").decode(
            errors="replace"
        )
        tail = " | ".join(out.strip().splitlines()[-5:])
        raise TestbedError(f"{what} failed: {tail}", hint=hint)
    return (proc.stdout or b"").decode(errors="replace")
