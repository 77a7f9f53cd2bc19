"""The VM image: debootstrap, Debian's kernel, our initramfs, a Pi OS-shaped disk.

Built once per arch and cached, named by a hash of its build inputs (see the package
docstring for the recipe).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from pi_k8s import pi_identity
from pi_k8s.errors import TestbedError
from pi_k8s.paths import ensure_private_dir, state_dir
from pi_k8s.testbed.hosts import Progress, noop
from pi_k8s.testbed.image import IMAGE_RECIPE_VERSION, PACKAGES, SUITE, customise_rootfs, mirror
from pi_k8s.testbed.qemu.arch import Arch
from pi_k8s.testbed.qemu.binfmt import BinfmtKeeper
from pi_k8s.testbed.qemu.disk import DISK_SIZE, fstab, make_disk
from pi_k8s.testbed.qemu.initramfs import INIT, INITRAMFS_MODULES, build_initramfs
from pi_k8s.testbed.qemu.seed import LINK_FILE, SEED_SCRIPT, SEED_UNIT
from pi_k8s.testbed.qemu.tools import run

# Bump when the image recipe below changes (the inputs hash covers the texts too).
_VM_RECIPE_VERSION = "2"
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


def images_dir() -> Path:
    """Where VM images are cached: ``$PI_K8S_IMAGE_DIR``, else ``<state dir>/images``."""
    env = os.environ.get("PI_K8S_IMAGE_DIR")
    return ensure_private_dir(Path(env) if env else state_dir() / "images")


def image_name(arch: Arch) -> str:
    """The image's directory name, carrying a hash of everything that goes into the build."""
    boot = json.dumps(pi_identity.boot_files(), sort_keys=True)
    recipe = "\n".join(
        [
            SUITE,
            IMAGE_RECIPE_VERSION,
            _VM_RECIPE_VERSION,
            arch.deb,
            *PACKAGES,
            *VM_PACKAGES,
            *_PRUNED_MODULE_DIRS,
            *INITRAMFS_MODULES,
            INIT,
            SEED_SCRIPT,
            SEED_UNIT,
            LINK_FILE,
            fstab(),
            str(DISK_SIZE),
            boot,
        ]
    )
    digest = hashlib.sha256(recipe.encode()).hexdigest()[:10]
    return f"pi-k8s-vm-{SUITE}-{arch.deb}-{digest}"


@dataclass(frozen=True)
class Image:
    directory: Path
    disk: Path
    kernel: Path
    initrd: Path


def _image_paths(directory: Path) -> Image:
    return Image(directory, directory / "disk.img", directory / "vmlinuz", directory / "initrd.img")


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
    include = [*PACKAGES, *VM_PACKAGES, f"linux-image-{arch.deb}", "busybox-static"]
    progress(f"debootstrap {SUITE} {arch.deb}, first stage (unpack on the host)")
    run(
        [
            "debootstrap",
            "--foreign",
            f"--arch={arch.deb}",
            "--variant=minbase",
            f"--include={','.join(include)}",
            SUITE,
            str(root),
            mirror(),
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
    run(
        ["chroot", str(root), "/debootstrap/debootstrap", "--second-stage"],
        "debootstrap (second stage)",
    )
    return kernel_deb, busybox_deb


def _install_kernel(root: Path, kernel_deb: Path) -> str:
    """Unpack Debian's kernel into the rootfs, prune it, run depmod; return its version."""
    # Unpacked aside, then moved: extracting over the rootfs would replace the usrmerge
    # symlink /lib with a directory.
    unpacked = root.parent / "kernel"
    run(["dpkg-deb", "-x", str(kernel_deb), str(unpacked)], "unpacking the kernel")
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
    run(["chroot", str(root), "depmod", "-a", version], "depmod")
    return version


def _customise_vm_rootfs(root: Path) -> None:
    customise_rootfs(root)
    for path, content in pi_identity.boot_files().items():
        target = root / path.lstrip("/")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(content)
    (root / "etc/fstab").write_text(fstab())
    script = root / "usr/local/sbin/pi-k8s-vm-seed"
    script.parent.mkdir(parents=True, exist_ok=True)
    script.write_text(SEED_SCRIPT)
    script.chmod(0o755)
    units = root / "etc/systemd/system"
    (units / "pi-k8s-vm-seed.service").write_text(SEED_UNIT)
    (root / "etc/systemd/network").mkdir(parents=True, exist_ok=True)
    (root / "etc/systemd/network/10-pi-k8s-eth0.link").write_text(LINK_FILE)
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


def ensure_image(arch: Arch, progress: Progress = noop) -> Image:
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
            with BinfmtKeeper(arch) as keeper:
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
        build_initramfs(root, version, busybox_deb, built.initrd)
        shutil.rmtree(root / "var/cache/apt/archives", ignore_errors=True)
        (root / "var/cache/apt/archives/partial").mkdir(parents=True, exist_ok=True)
        shutil.rmtree(root / "debootstrap", ignore_errors=True)
        progress("disk image (mkfs.ext4 -d, Pi OS partition layout)")
        make_disk(root, built.disk)
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
    for old in cache.glob(f"pi-k8s-vm-{SUITE}-{arch.deb}-*"):
        if old != final:
            progress(f"removing the outdated image {old.name}")
            shutil.rmtree(old, ignore_errors=True)
    progress(f"image {final.name} built in {time.monotonic() - started:.0f}s")
    return image
