"""The guest architectures test VMs come in, and how QEMU runs each.

``ARCHES`` is a data table: its entries are alike by design.
"""

from __future__ import annotations

from dataclasses import dataclass

from pi_k8s.errors import UsageError


@dataclass(frozen=True)
class Arch:
    name: str  # what `uname -m` says in the guest
    deb: str  # Debian's architecture name
    qemu: str  # the system emulator
    machine: tuple[str, ...]
    tcg_cpu: str
    uart: str  # the device console=serial0 maps to
    apt_package: str  # the Debian package that has ``qemu``
    user_static: str | None  # qemu-user binary for the chroot (None: native on x86_64)
    elf_magic: str = ""
    elf_mask: str = ""


ARCHES: dict[str, Arch] = {
    "x86_64": Arch(
        name="x86_64",
        deb="amd64",
        qemu="qemu-system-x86_64",
        machine=("-M", "q35"),
        tcg_cpu="max",
        uart="ttyS0",
        apt_package="qemu-system-x86",
        user_static=None,
    ),
    "arm64": Arch(
        name="aarch64",
        deb="arm64",
        qemu="qemu-system-aarch64",
        machine=("-M", "virt"),
        tcg_cpu="max,pauth-impdef=on",
        uart="ttyAMA0",
        apt_package="qemu-system-arm",
        user_static="qemu-aarch64-static",
        # binfmt_misc entry of Debian's qemu-user-static for aarch64 ELF executables.
        elf_magic=r"\x7f\x45\x4c\x46\x02\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00\xb7\x00",
        elf_mask=r"\xff\xff\xff\xff\xff\xff\xff\x00\xff\xff\xff\xff\xff\xff\xff\xff\xfe\xff\xff\xff",
    ),
}


def get_arch(arch: str) -> Arch:
    if arch not in ARCHES:
        raise UsageError(
            f"Unknown --arch {arch!r}.",
            hint=f"Use one of: {', '.join(ARCHES)}.",
        )
    return ARCHES[arch]
