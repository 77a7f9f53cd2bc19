"""The VM testbed's lifecycle: ``up``, ``status``, ``down``, and each VM's processes."""

from __future__ import annotations

import contextlib
import ipaddress
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

from pi_k8s.errors import TestbedError, UsageError
from pi_k8s.paths import ensure_private_dir
from pi_k8s.testbed import DEFAULT_NAME, Progress, Testbed, TestbedHost, testbed_dir
from pi_k8s.testbed.access import ensure_key, wait_ssh, write_access_files
from pi_k8s.testbed.hosts import Plan, noop, parse_subnet, plan_hosts, testbed_record, validate_name
from pi_k8s.testbed.qemu.arch import Arch, get_arch
from pi_k8s.testbed.qemu.image import ensure_image, image_name
from pi_k8s.testbed.qemu.kvm import kvm_works
from pi_k8s.testbed.qemu.network import bridge_name, ensure_bridge, ensure_tap, remove_network
from pi_k8s.testbed.qemu.seed import seed_image
from pi_k8s.testbed.qemu.tools import check_environment, run

DRIVER = "qemu"
DEFAULT_SUBNET = "10.213.15.0/24"
DEFAULT_ARCH = "x86_64"
DEFAULT_MEMORY_MB = 1024
DEFAULT_CPUS = 1


def _vm_dir(name: str, host: str) -> Path:
    return testbed_dir(name) / "vms" / host


def _driver_file(name: str) -> Path:
    return testbed_dir(name) / "driver"


def recorded_driver(name: str) -> str:
    """The driver a testbed was made with (``container`` when none is recorded)."""
    validate_name(name)  # before the name becomes a path (a bad one: UsageError)
    path = _driver_file(name)
    return path.read_text().strip() if path.exists() else "container"


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
        [sys.executable, "-m", "pi_k8s.testbed.qemu", "supervise", str(vm)],
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
    name: str = DEFAULT_NAME,
    subnet: str = DEFAULT_SUBNET,
    arch: str = DEFAULT_ARCH,
    memory_mb: int | None = None,
    cpus: int | None = None,
    progress: Progress = noop,
    boot_timeout: float = 600.0,
) -> Testbed:
    """Bring the VM testbed to exactly ``nodes`` Pi-like VMs of ``arch``."""
    validate_name(name)
    spec_arch = get_arch(arch)
    if nodes < 1:
        raise UsageError("A VM testbed needs at least one host.", hint="Pass --nodes 1 or more.")
    memory_mb = memory_mb or int(os.environ.get("PI_K8S_VM_MEMORY_MB", DEFAULT_MEMORY_MB))
    cpus = cpus or int(os.environ.get("PI_K8S_VM_CPUS", DEFAULT_CPUS))
    net = parse_subnet(subnet, DEFAULT_SUBNET)
    plans = plan_hosts(name, str(net), nodes, 0)
    if recorded_driver(name) != DRIVER and (testbed_dir(name) / "hosts.json").exists():
        raise UsageError(
            f"Testbed {name!r} runs containers.",
            hint=f"Run `pi-k8s testbed down --name {name}` first, or pick another --name.",
        )
    directory = testbed_dir(name)
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
    key = ensure_key(directory)
    image = ensure_image(spec_arch, progress)
    kvm = kvm_works(spec_arch, image)
    progress(f"acceleration: {'KVM' if kvm else 'TCG (KVM probe failed or not applicable)'}")
    for vm in sorted((directory / "vms").glob("*")) if (directory / "vms").exists() else []:
        if vm.name not in wanted or (vm.name not in running):
            if _stop_vm(vm):
                progress(f"stopping {vm.name}")
            if vm.name not in wanted:
                shutil.rmtree(vm, ignore_errors=True)
    ensure_bridge(name, net)
    host_keys: dict[str, str] = {}
    for index, plan in enumerate(plans, start=1):
        vm = ensure_private_dir(_vm_dir(name, plan.name))
        if plan.name in running:
            host_keys[plan.name] = (vm / "host_key.pub").read_text().strip()
            continue
        progress(f"creating {plan.name} ({spec_arch.deb}, {plan.ip}, {plan.mac})")
        for stale in ("disk.img", "console.log", "boots.log", "supervisor.log"):
            (vm / stale).unlink(missing_ok=True)
        run(
            ["cp", "--reflink=auto", "--sparse=always", str(image.disk), str(vm / "disk.img")],
            "copying the VM disk",
        )
        host_keys[plan.name] = seed_image(vm, plan, net, key, name)
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
            "tap": ensure_tap(name, index),
            "image": image.directory.name,
            "kernel": str(vm / image.kernel.name),
            "initrd": str(vm / image.initrd.name),
        }
        (vm / "vm.json").write_text(json.dumps(spec, indent=2) + "\n")
        _start_vm(vm)
    bed = status(name)
    write_access_files(directory, bed.hosts, key, host_keys)
    started = time.monotonic()
    for plan in plans:
        remaining = max(boot_timeout - (time.monotonic() - started), 5.0)
        try:
            wait_ssh(plan.ip, remaining)
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


def _vm_matches(name: str, plan: Plan, arch: Arch, subnet: str) -> bool:
    try:
        spec = json.loads((_vm_dir(name, plan.name) / "vm.json").read_text())
    except (OSError, ValueError):
        return False
    return (
        spec.get("image") == image_name(arch)
        and spec.get("ip") == plan.ip
        and spec.get("subnet") == str(ipaddress.ip_network(subnet))
    )


def status(name: str = DEFAULT_NAME) -> Testbed:
    """The VM testbed's hosts, from their state dirs and live processes."""
    validate_name(name)
    directory = testbed_dir(name)
    hosts: list[TestbedHost] = []
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
            TestbedHost(
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
    return testbed_record(name, bridge_name(name), subnet, image, hosts)


def down(name: str = DEFAULT_NAME, *, progress: Progress = noop) -> int:
    """Stop every VM, remove their disks, taps, bridge and firewall rule. Returns how many."""
    validate_name(name)
    directory = testbed_dir(name)
    removed = 0
    vms = directory / "vms"
    for vm in sorted(vms.glob("*")) if vms.exists() else []:
        progress(f"stopping {vm.name}")
        _stop_vm(vm)
        shutil.rmtree(vm, ignore_errors=True)
        removed += 1
    if shutil.which("ip"):
        removed += remove_network(name)
    for fname in ("known_hosts", "ssh_config", "hosts.json", "driver", "vm-testbed.json"):
        (directory / fname).unlink(missing_ok=True)
    with contextlib.suppress(OSError):
        vms.rmdir()
    return removed
