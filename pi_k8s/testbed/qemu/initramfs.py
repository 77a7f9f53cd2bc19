"""The VM initramfs, written by Python on the host (no tool runs for the target arch).

The target's static busybox, the virtio/ext4 modules with their dependencies from
``modules.dep``, and an ``/init`` that resolves ``root=PARTUUID=`` the way the kernel
does (MBR disk signature + partition number), mounts it and ``switch_root``s.
"""

from __future__ import annotations

import gzip
import tempfile
from pathlib import Path

from pi_k8s.testbed.qemu.tools import run

# Modules the initramfs loads (with their dependencies) to reach an ext4 root on virtio.
INITRAMFS_MODULES = ("virtio_pci", "virtio_mmio", "virtio_blk", "crc32c_generic", "ext4")


INIT = r"""#!/bin/busybox sh
# pi-k8s test VM initramfs: load virtio + ext4, find root= as the kernel would, hand over.
/bin/busybox mkdir -p /proc /sys /dev /newroot
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
exec </dev/console >/dev/console 2>&1
while read -r m; do insmod "/lib/modules/$m" 2>/dev/null; done < /modules.load
if grep -qw pi_k8s.probe /proc/cmdline; then echo "PI-K8S-PROBE-OK"; poweroff -f; fi
root=; fstype=ext4; mode=ro; init=/sbin/init
for arg in $(cat /proc/cmdline); do
  case "$arg" in
    root=*) root=${arg#root=} ;;
    rootfstype=*) fstype=${arg#rootfstype=} ;;
    rw) mode=rw ;;
    ro) mode=ro ;;
    init=*) init=${arg#init=} ;;
  esac
done
find_root() {
  case "$root" in
    PARTUUID=*)
      id=${root#PARTUUID=}; sig=${id%-*}; part=$(echo "${id##*-}" | sed 's/^0*//')
      for d in /sys/block/vd*; do
        [ -e "$d" ] || continue
        dev=/dev/${d##*/}
        s=$(od -A n -t x4 -j 440 -N 4 "$dev" 2>/dev/null | tr -d ' ')
        if [ "$s" = "$sig" ] && [ -b "$dev$part" ]; then echo "$dev$part"; return; fi
      done ;;
    UUID=*|LABEL=*) findfs "$root" 2>/dev/null ;;
    /dev/*) [ -b "$root" ] && echo "$root" ;;
  esac
}
i=0
while dev=$(find_root); [ -z "$dev" ]; do
  i=$((i + 1))
  if [ "$i" -gt 300 ]; then echo "pi-k8s initramfs: root=$root not found"; poweroff -f; fi
  sleep 0.1
done
echo "pi-k8s initramfs: root=$root is $dev ($fstype, $mode)"
if ! mount -t "$fstype" -o "$mode" "$dev" /newroot; then
  echo "pi-k8s initramfs: mount failed"; poweroff -f
fi
mount --move /dev /newroot/dev
umount /sys /proc
exec switch_root /newroot "$init"
"""


def cpio_newc(entries: list[tuple[str, int, bytes, tuple[int, int]]]) -> bytes:
    """A newc cpio archive of (name, mode, data, (rdev major, minor)) entries."""
    out = bytearray()
    for ino, (name, mode, data, rdev) in enumerate(
        [*entries, ("TRAILER!!!", 0, b"", (0, 0))], start=1
    ):
        fields = [ino, mode, 0, 0, 1, 0, len(data), 0, 0, rdev[0], rdev[1], len(name) + 1, 0]
        out += b"070701" + b"".join(f"{f:08x}".encode() for f in fields)
        out += name.encode() + b"\0"
        out += b"\0" * (-len(out) % 4)
        out += data
        out += b"\0" * (-len(out) % 4)
    return bytes(out)


def module_closure(moddir: Path, wanted: tuple[str, ...]) -> list[str]:
    """Relative paths of ``wanted`` modules and their dependencies, dependencies first."""
    deps: dict[str, list[str]] = {}
    for line in (moddir / "modules.dep").read_text().splitlines():
        mod, _, rest = line.partition(":")
        deps[mod] = rest.split()
    by_name = {Path(m).name.split(".ko")[0].replace("-", "_"): m for m in deps}
    order: list[str] = []

    def visit(mod: str) -> None:
        for dep in deps.get(mod, []):
            visit(dep)
        if mod not in order:
            order.append(mod)

    for name in wanted:
        if name in by_name:  # absent = built into the kernel
            visit(by_name[name])
    return order


def build_initramfs(root: Path, version: str, busybox_deb: Path, dest: Path) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        run(["dpkg-deb", "-x", str(busybox_deb), tmp], "unpacking busybox-static")
        busybox = (Path(tmp) / "bin/busybox").read_bytes()
    moddir = root / "lib/modules" / version
    modules = module_closure(moddir, INITRAMFS_MODULES)
    entries: list[tuple[str, int, bytes, tuple[int, int]]] = [
        ("bin", 0o40755, b"", (0, 0)),
        ("lib", 0o40755, b"", (0, 0)),
        ("lib/modules", 0o40755, b"", (0, 0)),
        ("dev", 0o40755, b"", (0, 0)),
        ("dev/console", 0o20600, b"", (5, 1)),
        ("proc", 0o40755, b"", (0, 0)),
        ("sys", 0o40755, b"", (0, 0)),
        ("newroot", 0o40755, b"", (0, 0)),
        ("bin/busybox", 0o100755, busybox, (0, 0)),
        ("init", 0o100755, INIT.encode(), (0, 0)),
        ("modules.load", 0o100644, "".join(f"{m}\n" for m in modules).encode(), (0, 0)),
    ]
    dirs = {"lib", "lib/modules"}
    for mod in modules:
        parts = Path("lib/modules", mod).parts
        for i in range(3, len(parts)):
            d = "/".join(parts[:i])
            if d not in dirs:
                dirs.add(d)
                entries.append((d, 0o40755, b"", (0, 0)))
        entries.append((f"lib/modules/{mod}", 0o100644, (moddir / mod).read_bytes(), (0, 0)))
    dest.write_bytes(gzip.compress(cpio_newc(entries), compresslevel=6))
