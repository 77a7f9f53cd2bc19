"""The files that make a container look like a Raspberry Pi.

Simulated Pi files, and how:
- ``/sys/firmware/devicetree/base/{model,compatible,serial-number}``: a per-host
  directory bind-mounted read-only over ``/sys/firmware`` (``/proc/device-tree`` is a
  kernel symlink that cannot be made inside procfs; on a Pi it points here).
- ``/proc/cpuinfo`` (Revision/Serial/Model trailer) and ``/proc/meminfo`` (MemTotal of
  the board): per-host files bind-mounted read-only, the way lxcfs does.
- ``/boot/firmware/cmdline.txt``, ``config.txt``, the ``/boot/*.txt`` "do not edit"
  placeholders, ``/etc/rpi-issue``, ``/etc/dphys-swapfile``: copied into the
  container's writable layer before it starts, so roles can edit them.
Non-Pi hosts (``others``) get none of these and a non-Pi MAC.
"""

from __future__ import annotations

import io
import shutil
import tarfile
import time
from pathlib import Path

from pi_k8s import pi_identity
from pi_k8s.testbed.hosts import Plan


def host_files(directory: Path, plan: Plan) -> list[str]:
    """Write the per-host files and return podman mount options for them."""
    host_dir = directory / "hosts" / plan.name
    if host_dir.exists():
        shutil.rmtree(host_dir)
    mounts: list[str] = []
    host_dir.mkdir(parents=True)
    if plan.profile is not None:
        seed = f"{directory.name}/{plan.name}"
        dt = host_dir / "firmware" / "devicetree" / "base"
        dt.mkdir(parents=True)
        for fname, data in pi_identity.devicetree_files(plan.profile, seed).items():
            (dt / fname).write_bytes(data)
        (host_dir / "cpuinfo").write_text(
            pi_identity.cpuinfo(Path("/proc/cpuinfo").read_text(), plan.profile, seed)
        )
        (host_dir / "meminfo").write_text(
            pi_identity.meminfo(Path("/proc/meminfo").read_text(), plan.profile.memory_mb)
        )
        mounts += [
            "-v",
            f"{host_dir / 'firmware'}:/sys/firmware:ro",
            "-v",
            f"{host_dir / 'cpuinfo'}:/proc/cpuinfo:ro",
            "-v",
            f"{host_dir / 'meminfo'}:/proc/meminfo:ro",
        ]
    return mounts


# uid/gid of the image's `pi` user (the first user useradd creates).
_PI_UID = 1000


def layer_tar(plan: Plan, key: Path) -> bytes:
    """A tar of the files each host gets in its writable layer (podman cp from stdin).

    Only new directories are archive entries, so existing ones (/, /home/pi, /boot)
    keep their owners and modes; ownership is right from the start (the `pi` user's
    .ssh belongs to pi).
    """
    entries: list[tuple[str, bytes | None, int, int]] = []  # path, content/None=dir, mode, uid
    if plan.profile is not None:
        entries.append(("boot/firmware", None, 0o755, 0))
        for path, content in pi_identity.boot_files().items():
            entries.append((path.lstrip("/"), content.encode(), 0o644, 0))
    pub = key.with_suffix(".pub").read_bytes()
    for home, uid in (("root", 0), ("home/pi", _PI_UID)):
        entries.append((f"{home}/.ssh", None, 0o700, uid))
        entries.append((f"{home}/.ssh/authorized_keys", pub, 0o600, uid))
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for name, content, mode, uid in entries:
            info = tarfile.TarInfo(name)
            info.mode, info.uid, info.gid = mode, uid, uid
            info.mtime = int(time.time())
            if content is None:
                info.type = tarfile.DIRTYPE
                tar.addfile(info)
            else:
                info.size = len(content)
                tar.addfile(info, io.BytesIO(content))
    return buf.getvalue()
