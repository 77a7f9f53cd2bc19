"""The Debian image every test host starts from (containers and VMs alike).

``debootstrap`` of ``SUITE`` with ``PACKAGES``, made a unique-per-host image by
``customise_rootfs``; ``ensure_image`` imports it into podman for the containers, the
VM image (``qemu.image``) builds on the same packages and customisation.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from pi_k8s.errors import TestbedError
from pi_k8s.paths import ensure_private_dir, state_dir
from pi_k8s.testbed.hosts import Progress, noop
from pi_k8s.testbed.podman import LABEL

SUITE = "bookworm"
# Packages the test hosts carry: what a Pi OS Lite install has that our roles and
# probes touch (systemd, sshd, sudo, python3 for Ansible, iptables/kmod for k3s), and
# keepalived for the API VIP (roles/k3s_vip installs it with apt when it is missing, but
# test hosts cannot reach a mirror, so it must already be there, as on a prepared Pi).
PACKAGES = (
    "systemd",
    "systemd-sysv",
    "systemd-timesyncd",
    "dbus",
    "python3",
    "python3-apt",
    "sudo",
    "iproute2",
    "iptables",
    "kmod",
    "procps",
    "openssh-server",
    "ca-certificates",
    "curl",
    "zstd",
    "keepalived",
)
# Bump when the customisation below changes, so cached images are rebuilt.
IMAGE_RECIPE_VERSION = "3"


def mirror() -> str:
    return os.environ.get("PI_K8S_DEBIAN_MIRROR", "http://deb.debian.org/debian")


def image_tag() -> str:
    """The image name, carrying a hash of everything that goes into the build."""
    recipe = "\n".join([SUITE, IMAGE_RECIPE_VERSION, *PACKAGES])
    return f"localhost/pi-k8s-testbed:{SUITE}-{hashlib.sha256(recipe.encode()).hexdigest()[:10]}"


_HOSTKEYS_UNIT = """\
[Unit]
Description=Generate this host's own SSH host keys (the image ships none)
Before=ssh.service
ConditionPathExists=!/etc/ssh/ssh_host_ed25519_key

[Service]
Type=oneshot
ExecStart=/usr/bin/ssh-keygen -A

[Install]
WantedBy=ssh.service
"""


def customise_rootfs(root: Path) -> None:
    """Make the debootstrapped tree a bootable, unique-per-container host image."""
    (root / "etc/machine-id").write_text("")
    (root / "etc/hostname").unlink(missing_ok=True)
    for key in (root / "etc/ssh").glob("ssh_host_*"):
        key.unlink()
    unit = root / "etc/systemd/system/pi-k8s-hostkeys.service"
    unit.write_text(_HOSTKEYS_UNIT)
    for wants in ("ssh.service.wants", "multi-user.target.wants"):
        link = root / "etc/systemd/system" / wants / "pi-k8s-hostkeys.service"
        link.parent.mkdir(parents=True, exist_ok=True)
        link.unlink(missing_ok=True)
        link.symlink_to("/etc/systemd/system/pi-k8s-hostkeys.service")
    # Raspberry Pi OS's default user: `pi`, passwordless sudo (pi-gen's 010_pi-nopasswd).
    subprocess.run(
        ["chroot", str(root), "useradd", "-m", "-s", "/bin/bash", "-G", "sudo", "pi"],
        check=True,
        capture_output=True,
    )
    sudoers = root / "etc/sudoers.d/010_pi-nopasswd"
    sudoers.write_text("pi ALL=(ALL) NOPASSWD: ALL\n")
    sudoers.chmod(0o440)
    # No console in a container: do not wait for one.
    for unit_name in ("getty@tty1.service", "console-getty.service"):
        mask = root / "etc/systemd/system" / unit_name
        mask.unlink(missing_ok=True)
        mask.symlink_to("/dev/null")
    # Keep apt's lists out of the image; hosts update when a role needs packages.
    shutil.rmtree(root / "var/lib/apt/lists", ignore_errors=True)
    (root / "var/lib/apt/lists/partial").mkdir(parents=True, exist_ok=True)
    shutil.rmtree(root / "var/cache/apt/archives", ignore_errors=True)
    (root / "var/cache/apt/archives/partial").mkdir(parents=True, exist_ok=True)


def ensure_image(progress: Progress = noop) -> str:
    """Build and import the test-host image unless podman already has it."""
    tag = image_tag()
    if subprocess.run(["podman", "image", "exists", tag], check=False).returncode == 0:
        progress(f"image {tag} is cached")
        return tag
    cache = ensure_private_dir(state_dir() / "images")
    with tempfile.TemporaryDirectory(dir=cache, prefix="build-") as build:
        root = Path(build) / "rootfs"
        progress(f"debootstrap {SUITE} from {mirror()} (about a minute)")
        proc = subprocess.run(
            [
                "debootstrap",
                "--variant=minbase",
                f"--include={','.join(PACKAGES)}",
                SUITE,
                str(root),
                mirror(),
            ],
            capture_output=True,
            check=False,
        )
        if proc.returncode != 0:
            tail = proc.stdout.decode(errors="replace").strip().splitlines()[-5:]
            raise TestbedError(
                "debootstrap failed: " + " | ".join(tail),
                hint="Check that Debian's mirror is reachable, or set PI_K8S_DEBIAN_MIRROR.",
            )
        customise_rootfs(root)
        progress(f"importing the image as {tag}")
        tar = subprocess.Popen(["tar", "-C", str(root), "-c", "."], stdout=subprocess.PIPE)
        imp = subprocess.run(
            [
                "podman",
                "import",
                "--change",
                'CMD ["/sbin/init"]',
                "--change",
                "STOPSIGNAL SIGRTMIN+3",
                "--change",
                f"LABEL {LABEL}.image=1",
                "-",
                tag,
            ],
            stdin=tar.stdout,
            capture_output=True,
            check=False,
        )
        tar.wait()
        if imp.returncode != 0 or tar.returncode != 0:
            raise TestbedError(f"podman import failed: {imp.stderr.decode(errors='replace')}")
    return tag
