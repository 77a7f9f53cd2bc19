"""The per-VM supervisor process: boot with cmdline.txt's contents, again after each reboot.

Run as ``python -m pi_k8s.testbed.qemu supervise VMDIR`` (``vms`` starts one per VM).
"""

from __future__ import annotations

import contextlib
import json
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from pi_k8s.testbed.qemu.arch import ARCHES
from pi_k8s.testbed.qemu.disk import ROOT_OFFSET, root_partuuid


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
        sig, part = root_partuuid()
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


def main(argv: list[str]) -> int:
    """``python -m pi_k8s.testbed.qemu supervise VMDIR``: the per-VM launcher process."""
    if len(argv) == 2 and argv[0] == "supervise":
        return supervise(Path(argv[1]))
    sys.stderr.write("usage: python -m pi_k8s.testbed.qemu supervise VMDIR\n")
    return 2
