"""qemu-user-static registered with binfmt_misc, so a foreign-arch chroot runs."""

from __future__ import annotations

import contextlib
import platform
import shutil
import threading
from pathlib import Path

from pi_k8s.errors import EnvironmentProblem, TestbedError
from pi_k8s.testbed.qemu.arch import Arch
from pi_k8s.testbed.qemu.tools import run


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
        run(["mount", "-t", "binfmt_misc", "binfmt_misc", str(base)], "mounting binfmt_misc")
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


class BinfmtKeeper:
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

    def __enter__(self) -> BinfmtKeeper:
        _ensure_binfmt(self.arch)
        if self.arch.user_static and platform.machine() != self.arch.name:
            self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()
