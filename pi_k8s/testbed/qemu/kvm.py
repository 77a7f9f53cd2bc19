"""Acceleration: KVM only when a short probe boot under ``-accel kvm`` reaches our
initramfs (``/dev/kvm`` alone proves nothing); TCG otherwise.
"""

from __future__ import annotations

import os
import platform
import subprocess

from pi_k8s.testbed.qemu.arch import Arch
from pi_k8s.testbed.qemu.image import Image

PROBE_MARKER = "PI-K8S-PROBE-OK"
PROBE_SECONDS = 5.0


def kvm_works(arch: Arch, image: Image) -> bool:
    """Whether KVM really runs this guest: a short boot must reach our initramfs."""
    if platform.machine() != arch.name or not os.access("/dev/kvm", os.R_OK | os.W_OK):
        return False
    cmd = [
        arch.qemu,
        *arch.machine,
        "-accel",
        "kvm",
        "-cpu",
        "host",
        "-m",
        "256",
        "-nodefaults",
        "-no-user-config",
        "-display",
        "none",
        "-serial",
        "stdio",
        "-no-reboot",
        "-kernel",
        str(image.kernel),
        "-initrd",
        str(image.initrd),
        "-append",
        f"console={arch.uart} pi_k8s.probe quiet",
    ]
    try:
        proc = subprocess.run(cmd, capture_output=True, timeout=PROBE_SECONDS, check=False)
    except subprocess.TimeoutExpired:
        return False
    return PROBE_MARKER in proc.stdout.decode(errors="replace")
