"""Test VMs that stand in for Raspberry Pis: QEMU guests with their own kernel.

Containers share the host's kernel; these VMs do not, so a cmdline.txt edit + reboot,
the memory cgroup flags, modules, sysctls and an arm64 userland are real here.
``up(..., driver="qemu")`` in the CLI lands in ``up()`` below; ``status``/``down`` find
the driver recorded in the testbed's state dir (file ``driver``).

Image (built once per arch, cached under ``$PI_K8S_STATE_DIR/images`` or
``$PI_K8S_IMAGE_DIR``, named by a hash of its build inputs so a change rebuilds it):
- ``debootstrap --foreign`` on the host (any arch: it only unpacks), with the container
  image's packages plus ``udev``, the Debian kernel (``linux-image-<arch>``) and
  ``busybox-static``. The kernel, initramfs-tools and busybox are taken out of the second
  stage's package list, so the second stage (``chroot`` + qemu-user-static via
  binfmt_misc for arm64) never runs mkinitramfs under emulation. The kernel package is
  unpacked on the host with ``dpkg-deb -x`` (modules of hardware a VM lacks pruned,
  ``depmod`` run in the chroot).
- The initramfs is ours, written by Python on the host (no tool runs for the target
  arch): the target's static busybox, the virtio/ext4 modules with their dependencies
  from ``modules.dep``, and an ``/init`` that resolves ``root=PARTUUID=`` the way the
  kernel does (MBR disk signature + partition number), mounts it and ``switch_root``s.
- The disk has Raspberry Pi OS's layout: an MBR with the disk id of Pi OS's
  cmdline.txt (``4e639091``), a small p1 and the ext4 root as p2, made with
  ``mkfs.ext4 -E offset=… -d rootfs`` (no loop device). Each VM gets a raw sparse copy
  (``cp --reflink=auto --sparse=always``), so the launcher can read it with debugfs.

Boot and reboot: each VM runs under a supervisor process (``python -m
pi_k8s.testbed_qemu supervise VMDIR``) that, before every boot, reads the first line of
``/boot/firmware/cmdline.txt`` from the VM's disk with ``debugfs`` and passes it as
QEMU's ``-append`` (``console=serial0`` becomes the VM's UART, as the Pi firmware
maps it). QEMU runs with ``-no-reboot``: a guest reboot ends QEMU with a SHUTDOWN
event of reason ``guest-reset`` on its QMP socket, and the supervisor boots it again
with the file's new contents; a guest poweroff (``guest-shutdown``) or ``down`` ends
the supervisor. Each boot is appended to ``boots.log`` in the VM's directory.

Network: a Linux bridge in the host's namespace (``pkv<hash>``, address ``.1`` of the
testbed's subnet) with one persistent tap per VM, like podman's bridge network for the
container testbed. The VMs need distinct addresses that reach each other (k3s agents
join a server on 6443), which QEMU's user-mode networking cannot give. Nothing leaves
the subnet: guests get the bridge as their default route (k3s wants one), and an
iptables rule rejects anything forwarded out of the bridge. So guests have no Debian
mirror and no NTP; every package they need is in the image.

Simulated Pi identity (per VM, from a small "seed" disk read at first boot by
``pi-k8s-vm-seed.service``, an early oneshot unit in the image):
- NIC: the Pi MAC of the board's OUI, renamed ``eth0`` as on a Pi; static address.
- ``/sys/firmware/devicetree/base/{model,compatible,serial-number}``: a read-only tmpfs
  mounted over ``/sys/firmware`` at every boot (a real kernel's sysfs cannot be edited).
- ``/proc/cpuinfo``: the VM's own cpuinfo plus the Pi trailer (Hardware, Revision,
  Serial, Model), bind-mounted read-only over ``/proc/cpuinfo`` at every boot.
- ``/boot/firmware/cmdline.txt`` (the one the launcher boots with), ``config.txt``, the
  ``/boot/*.txt`` placeholders, ``/etc/rpi-issue``, ``/etc/dphys-swapfile``: in the image.
- Not simulated: ``/proc/meminfo`` is the VM's real memory (``--memory``), not the
  board's; ``/boot/firmware`` is a directory on the root filesystem, not a vfat p1.
- SSH host keys are made on the host per VM and injected; known_hosts is written from
  them, and ``up`` logs in once with StrictHostKeyChecking to prove the VM serves them.

Acceleration: KVM only when a 5-second probe boot under ``-accel kvm`` reaches our
initramfs (``/dev/kvm`` alone proves nothing); TCG (``-accel tcg,thread=multi``)
otherwise.
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import ipaddress
import json
import os
import platform
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from pi_k8s import pi_identity
from pi_k8s import testbed as tb
from pi_k8s.errors import EnvironmentProblem, TestbedError, UsageError
from pi_k8s.paths import ensure_private_dir, state_dir

DRIVER = "qemu"
DEFAULT_SUBNET = "10.213.15.0/24"
DEFAULT_ARCH = "x86_64"
DEFAULT_MEMORY_MB = 1024
DEFAULT_CPUS = 1
# What QEMU itself takes on top of the guest's RAM (TCG translation cache, devices).
QEMU_OVERHEAD_MB = 256
DISK_SIZE = 3 * 1024**3
# Bump when the image recipe below changes (the inputs hash covers the texts too).
_VM_RECIPE_VERSION = "1"
# Packages on top of the container image's (the kernel comes separately): udev, as a VM
# has real devices, and dphys-swapfile, which makes and turns on the swap file at boot as
# on Raspberry Pi OS up to Bookworm (so pi_prereq has real swap to turn off).
VM_PACKAGES = ("udev", "dphys-swapfile")
# Kernel module trees a VM has no hardware for: pruned from the image to keep it small.
_PRUNED_MODULE_DIRS = (
    "kernel/drivers/gpu",
    "kernel/drivers/media",
    "kernel/drivers/infiniband",
    "kernel/drivers/staging",
    "kernel/drivers/net/wireless",
    "kernel/drivers/net/ethernet",
    "kernel/drivers/bluetooth",
    "kernel/drivers/iio",
    "kernel/drivers/hid",
    "kernel/drivers/input",
    "kernel/drivers/usb",
    "kernel/drivers/scsi",
    "kernel/drivers/mmc",
    "kernel/drivers/mtd",
    "kernel/drivers/isdn",
    "kernel/drivers/video",
    "kernel/sound",
    "kernel/net/bluetooth",
    "kernel/net/mac80211",
    "kernel/net/wireless",
)
# Modules the initramfs loads (with their dependencies) to reach an ext4 root on virtio.
INITRAMFS_MODULES = ("virtio_pci", "virtio_mmio", "virtio_blk", "crc32c_generic", "ext4")

PROBE_MARKER = "PI-K8S-PROBE-OK"
PROBE_SECONDS = 5.0


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

Progress = tb.Progress
_noop = tb._noop

# ----------------------------------------------------------------------------- guest texts

_INIT = r"""#!/bin/busybox sh
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

_SEED_SCRIPT = r"""#!/bin/sh
# pi-k8s test VM: copy this VM's seed in at first boot, lay out its Pi identity at every boot.
set -eu
state=/var/lib/pi-k8s-testbed
if [ ! -e "$state/seeded" ]; then
  dev=/dev/disk/by-id/virtio-pik8s-seed
  i=0
  while [ ! -b "$dev" ] && [ "$i" -lt 600 ]; do sleep 0.1; i=$((i + 1)); done
  mkdir -p /run/pi-k8s-seed "$state"
  mount -o ro "$dev" /run/pi-k8s-seed
  # tar keeps the image's owners and modes of directories that exist (/, /etc, /home/pi).
  tar -C /run/pi-k8s-seed/root -cf - . | tar -C / -xpf - --no-overwrite-dir
  rm -rf "$state/identity"
  cp -a /run/pi-k8s-seed/identity "$state/identity"
  umount /run/pi-k8s-seed
  chown -R pi:pi /home/pi/.ssh
  touch "$state/seeded"
fi
hostname "$(cat /etc/hostname)"
id="$state/identity"
if [ -d "$id/devicetree" ]; then
  mount -t tmpfs -o mode=0755,size=1m pi-k8s-firmware /sys/firmware
  cp -a "$id/devicetree" /sys/firmware/
  mount -o remount,ro /sys/firmware
fi
if [ -f "$id/cpuinfo-trailer" ]; then
  { printf '%s\n\n' "$(cat /proc/cpuinfo)"; cat "$id/cpuinfo-trailer"; } > /run/pi-k8s-cpuinfo
  mount --bind /run/pi-k8s-cpuinfo /proc/cpuinfo
  mount -o remount,bind,ro /proc/cpuinfo
fi
"""

_SEED_UNIT = """\
[Unit]
Description=pi-k8s test VM: seed and simulated Raspberry Pi identity
DefaultDependencies=no
After=local-fs.target systemd-udev-trigger.service
Wants=systemd-udev-trigger.service
Before=sysinit.target systemd-networkd.service ssh.service pi-k8s-hostkeys.service

[Service]
Type=oneshot
RemainAfterExit=yes
ExecStart=/usr/local/sbin/pi-k8s-vm-seed

[Install]
WantedBy=sysinit.target
"""

# The one virtio NIC is eth0, as on a Pi (Debian would call it enp0s…).
_LINK_FILE = """\
[Match]
Driver=virtio_net

[Link]
Name=eth0
"""


def _network_file(ip: str, prefix: int, gateway: str) -> str:
    return (
        f"[Match]\nName=eth0\n\n[Network]\nAddress={ip}/{prefix}\nGateway={gateway}\n"
        "LinkLocalAddressing=no\nIPv6AcceptRA=no\n"
    )


def _root_partuuid() -> tuple[int, int]:
    """Disk signature and partition number from Pi OS's cmdline.txt (root=PARTUUID=…)."""
    match = re.search(r"root=PARTUUID=([0-9a-f]{8})-(\d+)", pi_identity.CMDLINE_TXT)
    if not match:
        raise RuntimeError("pi_identity.CMDLINE_TXT has no root=PARTUUID=")
    return int(match.group(1), 16), int(match.group(2))


_P1_START, _P1_SECTORS, _ROOT_START = 2048, 6144, 8192  # sectors of 512 bytes
ROOT_OFFSET = _ROOT_START * 512


def _fstab() -> str:
    sig, part = _root_partuuid()
    return (
        "proc            /proc           proc    defaults          0       0\n"
        f"PARTUUID={sig:08x}-{part:02d}  /               ext4    defaults,noatime  0       1\n"
    )


# ----------------------------------------------------------------------------- checks


def get_arch(arch: str) -> Arch:
    if arch not in ARCHES:
        raise UsageError(
            f"Unknown --arch {arch!r}.",
            hint=f"Use one of: {', '.join(ARCHES)}.",
        )
    return ARCHES[arch]


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


def images_dir() -> Path:
    """Where VM images are cached: ``$PI_K8S_IMAGE_DIR``, else ``<state dir>/images``."""
    env = os.environ.get("PI_K8S_IMAGE_DIR")
    return ensure_private_dir(Path(env) if env else state_dir() / "images")


def image_name(arch: Arch) -> str:
    """The image's directory name, carrying a hash of everything that goes into the build."""
    boot = json.dumps(pi_identity.boot_files(), sort_keys=True)
    recipe = "\n".join(
        [
            tb.SUITE,
            tb._IMAGE_RECIPE_VERSION,
            _VM_RECIPE_VERSION,
            arch.deb,
            *tb.PACKAGES,
            *VM_PACKAGES,
            *_PRUNED_MODULE_DIRS,
            *INITRAMFS_MODULES,
            _INIT,
            _SEED_SCRIPT,
            _SEED_UNIT,
            _LINK_FILE,
            _fstab(),
            boot,
        ]
    )
    digest = hashlib.sha256(recipe.encode()).hexdigest()[:10]
    return f"pi-k8s-vm-{tb.SUITE}-{arch.deb}-{digest}"


@dataclass(frozen=True)
class Image:
    directory: Path
    disk: Path
    kernel: Path
    initrd: Path


def _image_paths(directory: Path) -> Image:
    return Image(directory, directory / "disk.img", directory / "vmlinuz", directory / "initrd.img")


def _run(cmd: list[str], what: str, hint: str | None = None, **kw: object) -> str:
    proc = subprocess.run(cmd, capture_output=True, check=False, **kw)  # type: ignore[call-overload]
    if proc.returncode != 0:
        out = (proc.stderr or b"").decode(errors="replace") + (proc.stdout or b"").decode(
            errors="replace"
        )
        tail = " | ".join(out.strip().splitlines()[-5:])
        raise TestbedError(f"{what} failed: {tail}", hint=hint)
    return (proc.stdout or b"").decode(errors="replace")


def _ensure_binfmt(arch: Arch) -> None:
    """Register qemu-user-static for the target arch (this host has no systemd to do it).

    binfmt_misc is mounted if needed and the entry uses the F flag (interpreter opened
    now), so the chroot needs no copy of qemu. The entry may live only in this process's
    namespace, so it is (re)checked right before each use.
    """
    if arch.user_static is None or platform.machine() == arch.name:
        return
    base = Path("/proc/sys/fs/binfmt_misc")
    if not (base / "register").exists():
        _run(["mount", "-t", "binfmt_misc", "binfmt_misc", str(base)], "mounting binfmt_misc")
    entry = base / f"qemu-{arch.name}"
    if entry.exists():
        if entry.read_text().startswith("enabled"):
            return
        entry.write_text("1")
        return
    interpreter = shutil.which(arch.user_static)
    line = f":qemu-{arch.name}:M::{arch.elf_magic}:{arch.elf_mask}:{interpreter}:F"
    try:
        (base / "register").write_text(line)
    except OSError as exc:
        raise EnvironmentProblem(
            f"Cannot register {arch.user_static} with binfmt_misc: {exc}.",
            hint=f"Run `update-binfmts --enable qemu-{arch.name}` as root.",
        ) from exc


class _BinfmtKeeper:
    """Keep the qemu-user binfmt_misc entry registered while emulated commands run.

    On this kind of machine something outside the testbed clears binfmt_misc entries
    about once a minute (seen here: an entry gone 50-60 s after registration, while
    nothing of ours ran), and a chroot then fails with "Exec format error" halfway. A
    thread re-registers the entry within 50 ms of it going away.
    """

    def __init__(self, arch: Arch) -> None:
        self.arch = arch
        self.restored = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        entry = Path("/proc/sys/fs/binfmt_misc") / f"qemu-{self.arch.name}"
        while not self._stop.wait(0.05):
            if not entry.exists():
                with contextlib.suppress(OSError, TestbedError):
                    _ensure_binfmt(self.arch)
                    self.restored += 1

    def __enter__(self) -> _BinfmtKeeper:
        _ensure_binfmt(self.arch)
        if self.arch.user_static and platform.machine() != self.arch.name:
            self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()


def _umount_below(root: Path) -> None:
    """Unmount what a failed chroot step left mounted under ``root`` (debootstrap's /proc)."""
    targets = [
        line.split()[4]
        for line in Path("/proc/self/mountinfo").read_text().splitlines()
        if line.split()[4].startswith(str(root) + "/")
    ]
    for target in sorted(targets, key=len, reverse=True):
        subprocess.run(["umount", "-l", target], capture_output=True, check=False)


def _debootstrap(root: Path, arch: Arch, progress: Progress) -> tuple[Path, Path]:
    """Bootstrap the rootfs; return the kernel and busybox packages kept out of it."""
    include = [*tb.PACKAGES, *VM_PACKAGES, f"linux-image-{arch.deb}", "busybox-static"]
    progress(f"debootstrap {tb.SUITE} {arch.deb}, first stage (unpack on the host)")
    _run(
        [
            "debootstrap",
            "--foreign",
            f"--arch={arch.deb}",
            "--variant=minbase",
            f"--include={','.join(include)}",
            tb.SUITE,
            str(root),
            tb._mirror(),
        ],
        "debootstrap (first stage)",
        hint="Check that Debian's mirror is reachable, or set PI_K8S_DEBIAN_MIRROR.",
    )
    # Keep the kernel and the initramfs tooling out of the second stage: no mkinitramfs
    # runs (under emulation it took most of 22 minutes); the kernel is unpacked below.
    dropped = re.compile(
        r"^(linux-image-.*|initramfs-tools(-core)?|klibc-utils|libklibc|linux-base|busybox-static)$"
    )
    debpaths = dict(
        line.split(" ", 1)
        for line in (root / "debootstrap/debpaths").read_text().splitlines()
        if " " in line
    )
    kept = ensure_private_dir(root.parent / "debs")
    kernel_deb = busybox_deb = None
    for pkg, rel in debpaths.items():
        if re.fullmatch(r"linux-image-\d.*", pkg):
            kernel_deb = kept / Path(rel).name
            shutil.copy2(root / rel.lstrip("/"), kernel_deb)
        elif pkg == "busybox-static":
            busybox_deb = kept / Path(rel).name
            shutil.copy2(root / rel.lstrip("/"), busybox_deb)
    if kernel_deb is None or busybox_deb is None:
        raise TestbedError("debootstrap did not fetch the kernel and busybox-static packages.")
    for listname in ("base", "required"):
        path = root / "debootstrap" / listname
        pkgs = [p for p in path.read_text().split() if not dropped.match(p)]
        path.write_text(" ".join(pkgs) + "\n")
    progress(f"debootstrap second stage ({'emulated' if arch.user_static else 'native'})")
    _run(
        ["chroot", str(root), "/debootstrap/debootstrap", "--second-stage"],
        "debootstrap (second stage)",
    )
    return kernel_deb, busybox_deb


def _install_kernel(root: Path, kernel_deb: Path) -> str:
    """Unpack Debian's kernel into the rootfs, prune it, run depmod; return its version."""
    # Unpacked aside, then moved: extracting over the rootfs would replace the usrmerge
    # symlink /lib with a directory.
    unpacked = root.parent / "kernel"
    _run(["dpkg-deb", "-x", str(kernel_deb), str(unpacked)], "unpacking the kernel")
    versions = [p.name for p in (unpacked / "lib/modules").iterdir() if p.is_dir()]
    if len(versions) != 1:
        raise TestbedError(f"Expected one kernel in {kernel_deb.name}, found {versions}.")
    version = versions[0]
    moddir = root / "usr/lib/modules" / version
    moddir.parent.mkdir(parents=True, exist_ok=True)
    shutil.move(unpacked / "lib/modules" / version, moddir)
    for item in (unpacked / "boot").iterdir():
        shutil.move(item, root / "boot" / item.name)
    shutil.rmtree(unpacked)
    for rel in _PRUNED_MODULE_DIRS:
        shutil.rmtree(moddir / rel, ignore_errors=True)
    _run(["chroot", str(root), "depmod", "-a", version], "depmod")
    return version


def _cpio_newc(entries: list[tuple[str, int, bytes, tuple[int, int]]]) -> bytes:
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


def _module_closure(moddir: Path, wanted: tuple[str, ...]) -> list[str]:
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


def _build_initramfs(root: Path, version: str, busybox_deb: Path, dest: Path) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        _run(["dpkg-deb", "-x", str(busybox_deb), tmp], "unpacking busybox-static")
        busybox = (Path(tmp) / "bin/busybox").read_bytes()
    moddir = root / "lib/modules" / version
    modules = _module_closure(moddir, INITRAMFS_MODULES)
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
        ("init", 0o100755, _INIT.encode(), (0, 0)),
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
    dest.write_bytes(gzip.compress(_cpio_newc(entries), compresslevel=6))


def _customise_vm_rootfs(root: Path) -> None:
    tb._customise_rootfs(root)
    for path, content in pi_identity.boot_files().items():
        target = root / path.lstrip("/")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(content)
    (root / "etc/fstab").write_text(_fstab())
    script = root / "usr/local/sbin/pi-k8s-vm-seed"
    script.parent.mkdir(parents=True, exist_ok=True)
    script.write_text(_SEED_SCRIPT)
    script.chmod(0o755)
    units = root / "etc/systemd/system"
    (units / "pi-k8s-vm-seed.service").write_text(_SEED_UNIT)
    (root / "etc/systemd/network").mkdir(parents=True, exist_ok=True)
    (root / "etc/systemd/network/10-pi-k8s-eth0.link").write_text(_LINK_FILE)
    links = {
        "sysinit.target.wants/pi-k8s-vm-seed.service": "/etc/systemd/system/pi-k8s-vm-seed.service",
        "multi-user.target.wants/systemd-networkd.service": (
            "/lib/systemd/system/systemd-networkd.service"
        ),
        "sockets.target.wants/systemd-networkd.socket": (
            "/lib/systemd/system/systemd-networkd.socket"
        ),
    }
    for rel, target in links.items():
        link = units / rel
        link.parent.mkdir(parents=True, exist_ok=True)
        link.unlink(missing_ok=True)
        link.symlink_to(target)
    # Nobody reads the VM's tty1; its serial getty stays (console=serial0 → the UART).
    (root / "etc/hostname").write_text("raspberrypi\n")


def _write_mbr(disk: Path, size: int) -> None:
    """Pi OS's partition table: disk id from cmdline.txt, p1 FAT (placeholder), p2 Linux."""
    sig, part = _root_partuuid()
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


def _make_disk(root: Path, disk: Path) -> None:
    with disk.open("wb") as f:
        f.truncate(DISK_SIZE)
    _run(
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
    _write_mbr(disk, DISK_SIZE)


def ensure_image(arch: Arch, progress: Progress = _noop) -> Image:
    """Build the arch's VM image unless the cache has it (disk, kernel, initramfs)."""
    cache = images_dir()
    final = cache / image_name(arch)
    image = _image_paths(final)
    if image.disk.exists() and image.kernel.exists() and image.initrd.exists():
        progress(f"image {final.name} is cached")
        return image
    started = time.monotonic()
    with tempfile.TemporaryDirectory(dir=cache, prefix="build-") as build:
        work = Path(build)
        root = work / "rootfs"
        try:
            with _BinfmtKeeper(arch) as keeper:
                kernel_deb, busybox_deb = _debootstrap(root, arch, progress)
                progress("installing the kernel, customising the rootfs")
                version = _install_kernel(root, kernel_deb)
                _customise_vm_rootfs(root)
        finally:
            _umount_below(root)
        if keeper.restored:
            progress(f"binfmt_misc entry for qemu-{arch.name} restored {keeper.restored}x")
        out = work / "image"
        out.mkdir()
        built = _image_paths(out)
        shutil.copy2(root / "boot" / f"vmlinuz-{version}", built.kernel)
        progress("initramfs (built on the host: busybox-static + virtio/ext4 modules)")
        _build_initramfs(root, version, busybox_deb, built.initrd)
        shutil.rmtree(root / "var/cache/apt/archives", ignore_errors=True)
        (root / "var/cache/apt/archives/partial").mkdir(parents=True, exist_ok=True)
        shutil.rmtree(root / "debootstrap", ignore_errors=True)
        progress("disk image (mkfs.ext4 -d, Pi OS partition layout)")
        _make_disk(root, built.disk)
        (out / "build.json").write_text(
            json.dumps(
                {
                    "arch": arch.deb,
                    "kernel": version,
                    "seconds": round(time.monotonic() - started, 1),
                },
                indent=2,
            )
            + "\n"
        )
        if final.exists():
            shutil.rmtree(final)
        out.rename(final)
    # Older builds for this arch are replaced (VMs keep their own kernel and disk copies).
    for old in cache.glob(f"pi-k8s-vm-{tb.SUITE}-{arch.deb}-*"):
        if old != final:
            progress(f"removing the outdated image {old.name}")
            shutil.rmtree(old, ignore_errors=True)
    progress(f"image {final.name} built in {time.monotonic() - started:.0f}s")
    return image


# ----------------------------------------------------------------------------- acceleration


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


# ----------------------------------------------------------------------------- network


def _bridge(name: str) -> str:
    return "pkv" + hashlib.sha256(name.encode()).hexdigest()[:8]


def _tap(name: str, index: int) -> str:
    return f"{_bridge(name)}t{index}"


def _ip(*args: str, check: bool = True) -> subprocess.CompletedProcess[bytes]:
    proc = subprocess.run(["ip", *args], capture_output=True, check=False)
    if check and proc.returncode != 0:
        raise TestbedError(f"ip {' '.join(args)} failed: {proc.stderr.decode().strip()}")
    return proc


def _link_exists(dev: str) -> bool:
    return _ip("link", "show", "dev", dev, check=False).returncode == 0


def _reject_rule(bridge: str) -> list[str]:
    return [
        "FORWARD",
        "-i",
        bridge,
        "!",
        "-o",
        bridge,
        "-m",
        "comment",
        "--comment",
        "pi-k8s test VMs stay on their subnet",
        "-j",
        "REJECT",
    ]


def _ensure_bridge(name: str, net: ipaddress.IPv4Network) -> str:
    bridge = _bridge(name)
    gateway = f"{next(net.hosts())}/{net.prefixlen}"
    if not _link_exists(bridge):
        for route in _ip("-4", "route", "show", str(net)).stdout.decode().splitlines():
            raise TestbedError(
                f"Subnet {net} is already routed on this machine ({route.strip()}).",
                hint="Pass another --subnet, or take down the testbed that uses it.",
            )
        _ip("link", "add", bridge, "type", "bridge")
        _ip("addr", "add", gateway, "dev", bridge)
    _ip("link", "set", bridge, "up")
    check = subprocess.run(["iptables", "-C", *_reject_rule(bridge)], capture_output=True)
    if check.returncode != 0:
        _run(["iptables", "-I", *_reject_rule(bridge)], "iptables (isolating the VMs)")
    return bridge


def _ensure_tap(name: str, index: int) -> str:
    tap = _tap(name, index)
    if not _link_exists(tap):
        _ip("tuntap", "add", "dev", tap, "mode", "tap")
    _ip("link", "set", tap, "master", _bridge(name))
    _ip("link", "set", tap, "up")
    return tap


def _remove_network(name: str) -> int:
    removed = 0
    bridge = _bridge(name)
    out = _ip("-o", "link", "show", check=False).stdout.decode()
    for dev in re.findall(rf"^\d+: ({bridge}t\d+)[:@]", out, flags=re.M):
        _ip("link", "del", dev, check=False)
        removed += 1
    if shutil.which("iptables"):
        while (
            subprocess.run(
                ["iptables", "-D", *_reject_rule(bridge)], capture_output=True
            ).returncode
            == 0
        ):
            pass
    if _link_exists(bridge):
        _ip("link", "del", bridge, check=False)
        removed += 1
    return removed


# ----------------------------------------------------------------------------- per VM


def _vm_dir(name: str, host: str) -> Path:
    return tb.testbed_dir(name) / "vms" / host


def _driver_file(name: str) -> Path:
    return tb.testbed_dir(name) / "driver"


def recorded_driver(name: str) -> str:
    """The driver a testbed was made with (``container`` when none is recorded)."""
    tb._validate_name(name)  # before the name becomes a path (a bad one: UsageError)
    path = _driver_file(name)
    return path.read_text().strip() if path.exists() else "container"


def _seed_image(
    vm: Path, plan: tb._Plan, net: ipaddress.IPv4Network, key: Path, testbed: str
) -> str:
    """Make the VM's seed disk; return its SSH host public key line."""
    seed = vm / "seed"
    if seed.exists():
        shutil.rmtree(seed)
    root = seed / "root"
    ident = seed / "identity"
    gateway = str(next(net.hosts()))
    files = {
        "etc/hostname": f"{plan.name}\n",
        "etc/hosts": (
            f"127.0.0.1\tlocalhost\n::1\t\tlocalhost ip6-localhost ip6-loopback\n"
            f"127.0.1.1\t{plan.name}\n"
        ),
        "etc/systemd/network/20-pi-k8s-lan.network": _network_file(plan.ip, net.prefixlen, gateway),
        "etc/ssh/sshd_config.d/10-pi-k8s-hostkey.conf": "HostKey /etc/ssh/ssh_host_ed25519_key\n",
    }
    for rel, content in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content)
    hostkey = root / "etc/ssh/ssh_host_ed25519_key"
    _run(
        [
            "ssh-keygen",
            "-q",
            "-t",
            "ed25519",
            "-N",
            "",
            "-C",
            f"root@{plan.name}",
            "-f",
            str(hostkey),
        ],
        "ssh-keygen (host key)",
    )
    for home in ("root", "home/pi"):
        ssh_dir = root / home / ".ssh"
        ssh_dir.mkdir(parents=True, mode=0o700)
        ssh_dir.chmod(0o700)
        auth = ssh_dir / "authorized_keys"
        auth.write_text(key.with_suffix(".pub").read_text())
        auth.chmod(0o600)
    if plan.profile is not None:
        seed_name = f"{testbed}/{plan.name}"
        dt = ident / "devicetree" / "base"
        dt.mkdir(parents=True)
        for fname, data in pi_identity.devicetree_files(plan.profile, seed_name).items():
            (dt / fname).write_bytes(data)
        trailer = pi_identity.cpuinfo("", plan.profile, seed_name).lstrip("\n")
        (ident / "cpuinfo-trailer").write_text(trailer)
    else:
        ident.mkdir(parents=True)
    img = vm / "seed.img"
    img.unlink(missing_ok=True)
    _run(
        ["mkfs.ext4", "-q", "-F", "-L", "pik8s-seed", "-d", str(seed), str(img), "8M"],
        "mkfs.ext4 (seed disk)",
    )
    pub = hostkey.with_suffix(".pub").read_text().split()
    shutil.rmtree(seed)
    return f"{pub[0]} {pub[1]}"


def read_cmdline(disk: Path) -> str:
    """First line of /boot/firmware/cmdline.txt on a VM disk ('' when it is missing)."""
    proc = subprocess.run(
        ["debugfs", "-R", "cat /boot/firmware/cmdline.txt", f"{disk}?offset={ROOT_OFFSET}"],
        capture_output=True,
        check=False,
    )
    text = proc.stdout.decode(errors="replace")
    return text.splitlines()[0].strip() if proc.returncode == 0 and text.strip() else ""


def kernel_append(cmdline: str, uart: str) -> str:
    """cmdline.txt → QEMU's -append: serial0 is the VM's UART, as the Pi firmware maps it."""
    if not cmdline:
        # No cmdline.txt: a Pi would not boot; boot the root anyway so it can be repaired.
        sig, part = _root_partuuid()
        cmdline = f"console=serial0,115200 root=PARTUUID={sig:08x}-{part:02d} rootwait"
    return re.sub(r"console=serial0\b", f"console={uart}", cmdline)


def _qemu_argv(spec: dict[str, object], vm: Path) -> list[str]:
    arch = ARCHES[str(spec["arch"])]
    accel = (
        ["-accel", "kvm", "-cpu", "host"]
        if spec["kvm"]
        else [
            "-accel",
            "tcg,thread=multi",
            "-cpu",
            arch.tcg_cpu,
        ]
    )
    return [
        arch.qemu,
        "-name",
        str(spec["host"]),
        *arch.machine,
        *accel,
        "-smp",
        str(spec["cpus"]),
        "-m",
        str(spec["memory_mb"]),
        "-nodefaults",
        "-no-user-config",
        "-display",
        "none",
        "-no-reboot",
        "-chardev",
        f"file,id=serial,path={vm / 'console.log'},append=on",
        "-serial",
        "chardev:serial",
        "-qmp",
        f"unix:{vm / 'qmp.sock'},server=on,wait=off",
        "-pidfile",
        str(vm / "qemu.pid"),
        "-kernel",
        str(spec["kernel"]),
        "-initrd",
        str(spec["initrd"]),
        "-drive",
        f"file={vm / 'disk.img'},format=raw,if=none,id=root,cache=writeback",
        "-device",
        "virtio-blk-pci,drive=root",
        "-drive",
        f"file={vm / 'seed.img'},format=raw,if=none,id=seed,readonly=on",
        "-device",
        "virtio-blk-pci,drive=seed,serial=pik8s-seed",
        "-netdev",
        f"tap,id=lan,ifname={spec['tap']},script=no,downscript=no",
        "-device",
        f"virtio-net-pci,netdev=lan,mac={spec['mac']},romfile=",
        "-device",
        "virtio-rng-pci",
    ]


def _qmp_shutdown_reason(sock_path: Path, proc: subprocess.Popen[bytes]) -> str:
    """Follow QEMU's QMP events until it exits; return the last SHUTDOWN reason."""
    reason = ""
    sock = None
    for _ in range(100):
        if proc.poll() is not None:
            return reason
        try:
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            sock.connect(str(sock_path))
            break
        except OSError:
            sock.close()
            sock = None
            time.sleep(0.1)
    if sock is None:
        return reason
    with sock:
        sock.sendall(b'{"execute": "qmp_capabilities"}\n')
        buf = b""
        while True:
            try:
                chunk = sock.recv(65536)
            except OSError:
                break
            if not chunk:
                break
            buf += chunk
            while b"\n" in buf:
                line, buf = buf.split(b"\n", 1)
                with contextlib.suppress(ValueError):
                    msg = json.loads(line)
                    if msg.get("event") == "SHUTDOWN":
                        reason = str(msg.get("data", {}).get("reason", ""))
    return reason


def supervise(vm: Path) -> int:
    """Run one VM: boot with cmdline.txt's contents, boot again after each guest reboot."""
    spec = json.loads((vm / "vm.json").read_text())
    arch = ARCHES[spec["arch"]]
    stop = False
    current: subprocess.Popen[bytes] | None = None

    def on_term(_signum: int, _frame: object) -> None:
        nonlocal stop
        stop = True
        if current is not None and current.poll() is None:
            current.terminate()

    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGINT, on_term)
    boots = vm / "boots.log"
    while not stop:
        append = kernel_append(read_cmdline(vm / "disk.img"), arch.uart)
        with boots.open("a") as log:
            log.write(json.dumps({"time": time.time(), "append": append}) + "\n")
        (vm / "qmp.sock").unlink(missing_ok=True)
        current = subprocess.Popen(
            [*_qemu_argv(spec, vm), "-append", append], stdin=subprocess.DEVNULL
        )
        reason = _qmp_shutdown_reason(vm / "qmp.sock", current)
        rc = current.wait()
        with boots.open("a") as log:
            log.write(json.dumps({"time": time.time(), "exit": rc, "reason": reason}) + "\n")
        if stop or reason != "guest-reset":
            break
    (vm / "qemu.pid").unlink(missing_ok=True)
    return 0


def _pid_alive(path: Path, marker: str) -> int | None:
    """The pid in ``path`` if that process is alive and its command line has ``marker``."""
    try:
        pid = int(path.read_text().strip())
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
    except (OSError, ValueError):
        return None
    return pid if marker in cmdline else None


def _start_vm(vm: Path) -> None:
    log = (vm / "supervisor.log").open("ab")
    proc = subprocess.Popen(
        [sys.executable, "-m", "pi_k8s.testbed_qemu", "supervise", str(vm)],
        stdin=subprocess.DEVNULL,
        stdout=log,
        stderr=log,
        start_new_session=True,
        close_fds=True,
    )
    (vm / "supervisor.pid").write_text(f"{proc.pid}\n")


def _stop_vm(vm: Path, timeout: float = 10.0) -> bool:
    """Stop a VM's supervisor and QEMU. Returns whether anything was running."""
    sup = _pid_alive(vm / "supervisor.pid", str(vm))
    qemu = _pid_alive(vm / "qemu.pid", str(vm))
    if sup is None and qemu is None:
        return False
    for pid in (sup, qemu):
        if pid is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if _pid_alive(vm / "supervisor.pid", str(vm)) is None and (
            _pid_alive(vm / "qemu.pid", str(vm)) is None
        ):
            return True
        time.sleep(0.2)
    for pid in (sup, qemu):
        if pid is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
    return True


def _ssh_check(directory: Path, host: str, timeout: float) -> None:
    """Log in once with the testbed's key and strict host key checking."""
    deadline = time.monotonic() + timeout
    last = ""
    while time.monotonic() < deadline:
        proc = subprocess.run(
            ["ssh", "-F", str(directory / "ssh_config"), "-o", "BatchMode=yes", host, "true"],
            capture_output=True,
            check=False,
            timeout=60,
        )
        if proc.returncode == 0:
            return
        last = proc.stderr.decode(errors="replace").strip()
        time.sleep(1)
    raise TestbedError(f"{host}: SSH login with the injected host key failed: {last}")


# ----------------------------------------------------------------------------- public API


def up(
    nodes: int = 2,
    *,
    name: str = tb.DEFAULT_NAME,
    subnet: str = DEFAULT_SUBNET,
    arch: str = DEFAULT_ARCH,
    memory_mb: int | None = None,
    cpus: int | None = None,
    progress: Progress = _noop,
    boot_timeout: float = 600.0,
) -> tb.Testbed:
    """Bring the VM testbed to exactly ``nodes`` Pi-like VMs of ``arch``."""
    tb._validate_name(name)
    spec_arch = get_arch(arch)
    if nodes < 1:
        raise UsageError("A VM testbed needs at least one host.", hint="Pass --nodes 1 or more.")
    memory_mb = memory_mb or int(os.environ.get("PI_K8S_VM_MEMORY_MB", DEFAULT_MEMORY_MB))
    cpus = cpus or int(os.environ.get("PI_K8S_VM_CPUS", DEFAULT_CPUS))
    try:
        net = ipaddress.ip_network(subnet)
    except ValueError as exc:
        raise UsageError(
            f"Invalid subnet {subnet!r}: {exc}.", hint=f"Use CIDR form, e.g. {DEFAULT_SUBNET}."
        ) from exc
    if not net.is_private or not isinstance(net, ipaddress.IPv4Network):
        raise UsageError(
            f"Subnet {subnet} is not a private IPv4 range.",
            hint=f"The testbed only uses private ranges, e.g. {DEFAULT_SUBNET}.",
        )
    plans = tb._plan(name, str(net), nodes, 0)
    if recorded_driver(name) != DRIVER and (tb.testbed_dir(name) / "hosts.json").exists():
        raise UsageError(
            f"Testbed {name!r} runs containers.",
            hint=f"Run `pi-k8s testbed down --name {name}` first, or pick another --name.",
        )
    directory = tb.testbed_dir(name)
    wanted = {p.name: p for p in plans}
    running = {
        p.name
        for p in plans
        if _pid_alive(_vm_dir(name, p.name) / "supervisor.pid", str(_vm_dir(name, p.name)))
        and _vm_matches(name, p, spec_arch, subnet)
    }
    check_environment(spec_arch, len(wanted) - len(running), memory_mb)

    directory = ensure_private_dir(directory)
    _driver_file(name).write_text(f"{DRIVER}\n")
    (directory / "vm-testbed.json").write_text(
        json.dumps({"arch": arch, "subnet": str(net)}, indent=2) + "\n"
    )
    key = tb._ensure_key(directory)
    image = ensure_image(spec_arch, progress)
    kvm = kvm_works(spec_arch, image)
    progress(f"acceleration: {'KVM' if kvm else 'TCG (KVM probe failed or not applicable)'}")
    for vm in sorted((directory / "vms").glob("*")) if (directory / "vms").exists() else []:
        if vm.name not in wanted or (vm.name not in running):
            if _stop_vm(vm):
                progress(f"stopping {vm.name}")
            if vm.name not in wanted:
                shutil.rmtree(vm, ignore_errors=True)
    _ensure_bridge(name, net)  # type: ignore[arg-type]
    host_keys: dict[str, str] = {}
    for index, plan in enumerate(plans, start=1):
        vm = ensure_private_dir(_vm_dir(name, plan.name))
        if plan.name in running:
            host_keys[plan.name] = (vm / "host_key.pub").read_text().strip()
            continue
        progress(f"creating {plan.name} ({spec_arch.deb}, {plan.ip}, {plan.mac})")
        for stale in ("disk.img", "console.log", "boots.log", "supervisor.log"):
            (vm / stale).unlink(missing_ok=True)
        _run(
            ["cp", "--reflink=auto", "--sparse=always", str(image.disk), str(vm / "disk.img")],
            "copying the VM disk",
        )
        host_keys[plan.name] = _seed_image(vm, plan, net, key, name)  # type: ignore[arg-type]
        for src in (image.kernel, image.initrd):
            shutil.copy2(src, vm / src.name)
        (vm / "host_key.pub").write_text(host_keys[plan.name] + "\n")
        spec = {
            "testbed": name,
            "host": plan.name,
            "arch": arch,
            "subnet": str(net),
            "kind": plan.kind,
            "ip": plan.ip,
            "mac": plan.mac,
            "model": plan.profile.model if plan.profile else None,
            "memory_mb": memory_mb,
            "cpus": cpus,
            "kvm": kvm,
            "tap": _ensure_tap(name, index),
            "image": image.directory.name,
            "kernel": str(vm / image.kernel.name),
            "initrd": str(vm / image.initrd.name),
        }
        (vm / "vm.json").write_text(json.dumps(spec, indent=2) + "\n")
        _start_vm(vm)
    bed = status(name)
    tb._write_access_files(directory, bed.hosts, key, host_keys)
    started = time.monotonic()
    for plan in plans:
        remaining = max(boot_timeout - (time.monotonic() - started), 5.0)
        try:
            tb.wait_ssh(plan.ip, remaining)
        except TestbedError as exc:
            raise TestbedError(
                f"{plan.name}: {exc.message}",
                hint=f"See {_vm_dir(name, plan.name) / 'console.log'}.",
            ) from exc
        _ssh_check(directory, plan.name, 60)
        progress(f"{plan.name} answers on SSH after {time.monotonic() - started:.0f}s")
    bed = status(name)
    progress(f"{len(bed.hosts)} {arch} VMs up on {net}")
    return bed


def _vm_matches(name: str, plan: tb._Plan, arch: Arch, subnet: str) -> bool:
    try:
        spec = json.loads((_vm_dir(name, plan.name) / "vm.json").read_text())
    except (OSError, ValueError):
        return False
    return (
        spec.get("image") == image_name(arch)
        and spec.get("ip") == plan.ip
        and spec.get("subnet") == str(ipaddress.ip_network(subnet))
    )


def status(name: str = tb.DEFAULT_NAME) -> tb.Testbed:
    """The VM testbed's hosts, from their state dirs and live processes."""
    tb._validate_name(name)
    directory = tb.testbed_dir(name)
    hosts: list[tb.TestbedHost] = []
    subnet = image = ""
    vms = directory / "vms"
    for vm in sorted(vms.glob("*")) if vms.exists() else []:
        try:
            spec = json.loads((vm / "vm.json").read_text())
        except (OSError, ValueError):
            continue
        subnet, image = spec["subnet"], spec["image"]
        if _pid_alive(vm / "qemu.pid", str(vm)):
            state = "running"
        elif _pid_alive(vm / "supervisor.pid", str(vm)):
            state = "rebooting"
        else:
            state = "stopped"
        hosts.append(
            tb.TestbedHost(
                name=spec["host"],
                kind=spec["kind"],
                ip=spec["ip"],
                mac=spec["mac"],
                model=spec.get("model"),
                memory_mb=spec.get("memory_mb"),
                state=state,
                container=f"qemu:{spec['arch']}:{vm}",
            )
        )
    hosts.sort(key=lambda h: (len(h.name), h.name))
    return tb.Testbed(
        name=name,
        network=_bridge(name),
        subnet=subnet,
        image=image,
        ssh_key=directory / "id_ed25519",
        known_hosts=directory / "known_hosts",
        inventory=directory / "hosts.json",
        ssh_config=directory / "ssh_config",
        hosts=hosts,
    )


def down(name: str = tb.DEFAULT_NAME, *, progress: Progress = _noop) -> int:
    """Stop every VM, remove their disks, taps, bridge and firewall rule. Returns how many."""
    tb._validate_name(name)
    directory = tb.testbed_dir(name)
    removed = 0
    vms = directory / "vms"
    for vm in sorted(vms.glob("*")) if vms.exists() else []:
        progress(f"stopping {vm.name}")
        _stop_vm(vm)
        shutil.rmtree(vm, ignore_errors=True)
        removed += 1
    if shutil.which("ip"):
        removed += _remove_network(name)
    for fname in ("known_hosts", "ssh_config", "hosts.json", "driver", "vm-testbed.json"):
        (directory / fname).unlink(missing_ok=True)
    with contextlib.suppress(OSError):
        vms.rmdir()
    return removed


def main(argv: list[str]) -> int:
    """``python -m pi_k8s.testbed_qemu supervise VMDIR``: the per-VM launcher process."""
    if len(argv) == 2 and argv[0] == "supervise":
        return supervise(Path(argv[1]))
    sys.stderr.write("usage: python -m pi_k8s.testbed_qemu supervise VMDIR\n")
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
