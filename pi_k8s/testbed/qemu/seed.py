"""Each VM's seed: a small disk with its identity, and the image's unit that reads it.

``pi-k8s-vm-seed.service`` (an early oneshot unit in the image) copies the seed in at
first boot and lays out the simulated Pi files at every boot.
"""

from __future__ import annotations

import ipaddress
import shutil
from pathlib import Path

from pi_k8s import pi_identity
from pi_k8s.testbed.hosts import Plan
from pi_k8s.testbed.qemu.tools import run

SEED_SCRIPT = r"""#!/bin/sh
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

SEED_UNIT = """\
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
LINK_FILE = """\
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


def seed_image(vm: Path, plan: Plan, net: ipaddress.IPv4Network, key: Path, testbed: str) -> str:
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
    run(
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
    run(
        ["mkfs.ext4", "-q", "-F", "-L", "pik8s-seed", "-d", str(seed), str(img), "8M"],
        "mkfs.ext4 (seed disk)",
    )
    pub = hostkey.with_suffix(".pub").read_text().split()
    shutil.rmtree(seed)
    return f"{pub[0]} {pub[1]}"
