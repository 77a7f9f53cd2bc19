"""The VM disk: Raspberry Pi OS's partition layout (MBR disk id, root on p2)."""

from __future__ import annotations

import re
from pathlib import Path

from pi_k8s import pi_identity
from pi_k8s.testbed.qemu.tools import run

# Pi OS grows its root to the whole SD card at first boot; 4 GiB leaves verify's 1024 MB
# free under /var/lib after the install (3 GiB did not). Sparse: only what is written counts.
DISK_SIZE = 4 * 1024**3


def root_partuuid() -> tuple[int, int]:
    """Disk signature and partition number from Pi OS's cmdline.txt (root=PARTUUID=…)."""
    match = re.search(r"root=PARTUUID=([0-9a-f]{8})-(\d+)", pi_identity.CMDLINE_TXT)
    if not match:
        raise RuntimeError("pi_identity.CMDLINE_TXT has no root=PARTUUID=")
    return int(match.group(1), 16), int(match.group(2))


_P1_START, _P1_SECTORS, _ROOT_START = 2048, 6144, 8192  # sectors of 512 bytes
ROOT_OFFSET = _ROOT_START * 512


def fstab() -> str:
    sig, part = root_partuuid()
    return (
        "proc            /proc           proc    defaults          0       0\n"
        f"PARTUUID={sig:08x}-{part:02d}  /               ext4    defaults,noatime  0       1\n"
    )


def write_mbr(disk: Path, size: int) -> None:
    """Pi OS's partition table: disk id from cmdline.txt, p1 FAT (placeholder), p2 Linux."""
    sig, part = root_partuuid()
    if part != 2:
        raise RuntimeError("the image layout puts the root on partition 2")

    def entry(ptype: int, start: int, sectors: int) -> bytes:
        chs = b"\xfe\xff\xff"
        return (
            b"\x00"
            + chs
            + bytes([ptype])
            + chs
            + start.to_bytes(4, "little")
            + sectors.to_bytes(4, "little")
        )

    mbr = bytearray(512)
    mbr[440:444] = sig.to_bytes(4, "little")
    mbr[446:462] = entry(0x0C, _P1_START, _P1_SECTORS)
    mbr[462:478] = entry(0x83, _ROOT_START, size // 512 - _ROOT_START)
    mbr[510:512] = b"\x55\xaa"
    with disk.open("r+b") as f:
        f.write(mbr)


def make_disk(root: Path, disk: Path) -> None:
    with disk.open("wb") as f:
        f.truncate(DISK_SIZE)
    run(
        [
            "mkfs.ext4",
            "-q",
            "-F",
            "-L",
            "rootfs",
            "-E",
            f"offset={ROOT_OFFSET}",
            "-d",
            str(root),
            str(disk),
            f"{(DISK_SIZE - ROOT_OFFSET) // 1024}k",
        ],
        "mkfs.ext4 -d",
    )
    write_mbr(disk, DISK_SIZE)
