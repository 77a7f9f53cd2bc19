"""Host checks: one testinfra host → list[CheckResult] (cgroups, swap, modules, k3s …)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from pi_k8s.verify.model import (
    FAIL,
    K3S_BINARY,
    K3S_CONFIG,
    K3S_SHA256_RECORD,
    REQUIRED_CONTROLLERS,
    REQUIRED_MODULES,
    REQUIRED_SYSCTLS,
    SKIP,
    SOC_TEMP_WARN_C,
    CheckResult,
    HostTarget,
    outcome,
)
from pi_k8s.verify.parsers import decode_throttled, parse_controllers, parse_proc_cgroups

Check = Callable[[Any, HostTarget], Iterable[CheckResult]]
PARALLEL_CHECKS = 6

# The commands the checks run (pi_k8s.verify.batched runs them all in one go: host_reads).
CONNECT = "true"
TIME_SYNCED = "timedatectl show -p NTPSynchronized --value"
CONTAINER = "systemd-detect-virt --container"
TIMESYNCD_ENABLED = "systemctl is-enabled systemd-timesyncd"
K3S_VERSION = f"{K3S_BINARY} --version"
DISK_FREE = "df -Pm /var/lib/rancher 2>/dev/null || df -Pm /var/lib"
THROTTLED = "vcgencmd get_throttled"
ROOT_SOURCE = "findmnt -no SOURCE /"


def check_cgroups(host: Any, t: HostTarget) -> Iterable[CheckResult]:
    v2 = host.file("/sys/fs/cgroup/cgroup.controllers")
    if v2.exists:
        have = parse_controllers(v2.content_string)
        layout = "cgroup v2"
    else:  # cgroup v1 / hybrid (older Pi OS, or a test host sharing such a kernel)
        have = parse_proc_cgroups(host.file("/proc/cgroups").content_string)
        layout = "cgroup v1"
    missing = [c for c in REQUIRED_CONTROLLERS if c not in have]
    hint = "cpu/cpuset controllers missing: check the kernel config."
    if "memory" in missing:
        hint = _memory_cgroup_hint(host)
    detail = f"{layout}: " + ("missing " + ", ".join(missing) if missing else "cpu cpuset memory")
    yield outcome(t, "cgroup controllers", not missing, detail, hint)


def _memory_cgroup_hint(host: Any) -> str:
    """Why the memory controller is off: the flag is not in cmdline.txt, or not active."""
    for path in ("/boot/firmware/cmdline.txt", "/boot/cmdline.txt"):
        f = host.file(path)
        if f.exists and "DO NOT EDIT" not in f.content_string:
            if "cgroup_enable=memory" not in f.content_string.split():
                return (
                    f"cgroup_enable=memory is missing from {path}: run `pi-k8s bootstrap` "
                    "(pi_prereq adds it), then reboot."
                )
            break
    return (
        "cmdline.txt flags not active: reboot, or the firmware adds cgroup_disable=memory "
        "(Pi kernel 6.12), and cgroup_enable=memory must come after it in /proc/cmdline."
    )


def check_swap(host: Any, t: HostTarget) -> Iterable[CheckResult]:
    lines = host.file("/proc/swaps").content_string.strip().splitlines()[1:]
    devices = [line.split()[0] for line in lines if line.strip()]
    yield outcome(
        t,
        "swap off",
        not devices,
        ", ".join(devices) or "no swap",
        "Swap is on: run bootstrap again (pi_prereq disables dphys-swapfile) "
        "or `sudo swapoff -a` and disable the swap service.",
    )


# How to tell a module is active whether it was loaded or built in (built-in modules
# without parameters do not appear under /sys/module).
# module → (path that exists when it is active, text that path must hold or None, why)
_MODULE_EVIDENCE = {
    "br_netfilter": ("/proc/sys/net/bridge", None, "the bridge netfilter sysctls exist"),
    "overlay": ("/proc/filesystems", "overlay", "overlay is a known filesystem"),
}


def check_modules(host: Any, t: HostTarget) -> Iterable[CheckResult]:
    for mod in REQUIRED_MODULES:
        active = host.file(f"/sys/module/{mod}").exists
        detail = "loaded" if active else "not loaded"
        evidence = _MODULE_EVIDENCE.get(mod)
        if not active and evidence:
            path, needle, why = evidence
            f = host.file(path)
            active = f.exists and (needle is None or needle in f.content_string)
            detail = f"built in ({why})" if active else "not loaded"
        yield outcome(
            t,
            f"module {mod}",
            active,
            detail,
            f"`sudo modprobe {mod}` and keep it in /etc/modules-load.d/k3s.conf.",
        )


def check_sysctls(host: Any, t: HostTarget) -> Iterable[CheckResult]:
    for key, want in REQUIRED_SYSCTLS.items():
        f = host.file("/proc/sys/" + key.replace(".", "/"))
        have = f.content_string.strip() if f.exists else "absent"
        yield outcome(
            t,
            f"sysctl {key}",
            have == want,
            f"{have} (want {want})",
            f"Set {key}={want} in /etc/sysctl.d/90-k3s.conf and `sudo sysctl --system`.",
        )


def check_time(host: Any, t: HostTarget) -> Iterable[CheckResult]:
    hint = (
        "The clock is not synchronised: TLS certificates fail with a wrong clock; "
        "`sudo systemctl enable --now systemd-timesyncd` and check that NTP is reachable."
    )
    out = host.run(TIME_SYNCED)
    if out.rc == 0 and out.stdout.strip() == "yes":
        yield outcome(t, "time synchronised", True, "NTP synchronised", hint)
        return
    container = host.run(CONTAINER).stdout.strip()
    if container and container != "none":
        # A container's clock is the host kernel's; what the host can get wrong here is
        # having no time service at all once it is a real machine.
        enabled = host.run(TIMESYNCD_ENABLED).stdout.strip()
        yield outcome(
            t,
            "time synchronised",
            enabled == "enabled",
            f"{container}: clock is the host's; systemd-timesyncd {enabled or 'absent'}",
            hint,
        )
        return
    yield outcome(t, "time synchronised", False, out.stdout.strip() or out.stderr.strip(), hint)


def check_k3s_binary(host: Any, t: HostTarget, version: str | None) -> Iterable[CheckResult]:
    binary = host.file(K3S_BINARY)
    if not binary.exists:
        yield outcome(
            t,
            "k3s binary",
            False,
            "/usr/local/bin/k3s missing",
            "k3s is not installed: run `pi-k8s bootstrap`.",
        )
        return
    out = host.run(K3S_VERSION)
    first = out.stdout.splitlines()[0] if out.stdout else out.stderr.strip()
    installed = first.split()[2] if len(first.split()) > 2 else first
    if version:
        yield outcome(
            t,
            "k3s version",
            installed == version,
            f"{installed} (want {version})",
            "Run `pi-k8s bootstrap` to install the inventory's version.",
        )
    else:
        yield outcome(t, "k3s version", out.rc == 0, installed, "k3s --version failed.")
    yield from check_k3s_checksum(host, t, binary)


def check_k3s_checksum(host: Any, t: HostTarget, binary: Any) -> Iterable[CheckResult]:
    """The binary on disk against the sha256 the install role verified and recorded."""
    recorded = host.file(K3S_SHA256_RECORD)
    if not recorded.exists:
        yield outcome(
            t,
            "k3s checksum",
            False,
            f"no record at {K3S_SHA256_RECORD}",
            "Nothing to compare the binary with: re-run `pi-k8s bootstrap`, which records "
            "the checksum it verified.",
            warn=True,
        )
        return
    fields = recorded.content_string.split()
    want = fields[0].lower() if fields else ""
    have = binary.sha256sum
    yield outcome(
        t,
        "k3s checksum",
        have == want,
        f"{have[:16]}… matches {K3S_SHA256_RECORD}"
        if have == want
        else f"{have[:16]}… on disk, {want[:16]}… verified at install",
        f"{K3S_BINARY} changed after pi-k8s installed it: re-run `pi-k8s bootstrap` to put "
        "the verified release binary back, and find out what replaced it.",
    )


def check_service(host: Any, t: HostTarget) -> Iterable[CheckResult]:
    unit = "k3s" if t.role == "server" else "k3s-agent"
    svc = host.service(unit)
    enabled, running = svc.is_enabled, svc.is_running
    yield outcome(
        t,
        f"{unit} service",
        enabled and running,
        f"enabled={enabled} running={running}",
        f"`sudo systemctl enable --now {unit}`; if it fails, "
        f"`journalctl -u {unit} -e` shows why (wrong token, server unreachable).",
    )


def check_ports(host: Any, t: HostTarget) -> Iterable[CheckResult]:
    ports = [10250]
    if t.role == "server":
        ports.append(6443)
        if t.ha:
            ports += [2379, 2380]
    for port in ports:
        listening = (
            host.socket(f"tcp://0.0.0.0:{port}").is_listening
            or host.socket(f"tcp://:::{port}").is_listening
        )
        yield outcome(
            t,
            f"port {port}",
            listening,
            "listening" if listening else "not listening",
            f"Nothing listens on {port}: is the k3s service running?",
        )


def check_modes(host: Any, t: HostTarget) -> Iterable[CheckResult]:
    unit = "k3s" if t.role == "server" else "k3s-agent"
    for path in (K3S_CONFIG, f"/etc/systemd/system/{unit}.service.env"):
        f = host.file(path)
        if not f.exists:
            yield outcome(t, f"mode {path}", False, "missing", "Re-run bootstrap to write it.")
            continue
        mode = f.mode
        yield outcome(
            t,
            f"mode {path}",
            mode == 0o600,
            f"{mode:04o}",
            f"It can hold the cluster token: `sudo chmod 600 {path}`.",
        )


def check_disk(host: Any, t: HostTarget, min_free_mb: int) -> Iterable[CheckResult]:
    out = host.run(DISK_FREE)
    fields = out.stdout.strip().splitlines()[-1].split() if out.rc == 0 else []
    free = int(fields[3]) if len(fields) > 3 else -1
    yield outcome(
        t,
        "disk space",
        free >= min_free_mb,
        f"{free} MB free (want ≥ {min_free_mb})",
        "Free space under /var/lib/rancher: images and etcd need room.",
    )


def check_pi(host: Any, t: HostTarget) -> Iterable[CheckResult]:
    if host.exists("vcgencmd"):
        out = host.run(THROTTLED)
        flags = decode_throttled(out.stdout) if out.rc == 0 else ["vcgencmd failed"]
        yield outcome(
            t,
            "power and throttling",
            not flags,
            ", ".join(flags) or "none",
            "Use the official power supply; under-voltage corrupts SD cards.",
            warn=True,
        )
    else:
        yield CheckResult(t.name, "power and throttling", SKIP, "vcgencmd not installed")
    temp = host.file("/sys/class/thermal/thermal_zone0/temp")
    if temp.exists:
        celsius = int(temp.content_string.strip()) / 1000
        yield outcome(
            t,
            "SoC temperature",
            celsius < SOC_TEMP_WARN_C,
            f"{celsius:.1f} °C",
            "Add a heatsink or fan: the SoC throttles above 80 °C.",
            warn=True,
        )
    root = host.run(ROOT_SOURCE).stdout.strip()
    on_sd = "mmcblk" in root
    yield outcome(
        t,
        "root device",
        not (on_sd and t.role == "server"),
        root or "unknown",
        "A server on an SD card: etcd's writes wear it out; move the root to an SSD.",
        warn=True,
    )


def host_checks(
    host: Any, t: HostTarget, *, version: str | None, min_free_mb: int
) -> list[CheckResult]:
    results: list[CheckResult] = []
    try:
        host.run(CONNECT)  # connect first: an unreachable host is one failure, not twenty
    except Exception as exc:
        return [
            CheckResult(
                t.name,
                "reachable",
                FAIL,
                error_text(exc),
                "Check that the host is on, SSH answers and the key is right.",
            )
        ]
    checks: list[tuple[str, Callable[[], Iterable[CheckResult]]]] = [
        ("cgroup controllers", lambda: check_cgroups(host, t)),
        ("swap off", lambda: check_swap(host, t)),
        ("kernel modules", lambda: check_modules(host, t)),
        ("sysctls", lambda: check_sysctls(host, t)),
        ("time synchronised", lambda: check_time(host, t)),
        ("k3s service", lambda: check_service(host, t)),
        ("ports", lambda: check_ports(host, t)),
        ("file modes", lambda: check_modes(host, t)),
        ("k3s binary", lambda: check_k3s_binary(host, t, version)),
        ("disk space", lambda: check_disk(host, t, min_free_mb)),
    ]
    # The checks are independent: run them side by side, keep their order. Served by
    # pi_k8s.verify.batched they only look up one read; on a plain testinfra host each read
    # is an SSH connection of its own (testinfra passes ssh no ControlPath, so none is
    # shared), and PARALLEL_CHECKS keeps them under sshd's default MaxStartups (10).
    with ThreadPoolExecutor(max_workers=PARALLEL_CHECKS) as pool:
        for done in pool.map(lambda item: _guarded(t, *item), checks):
            results.extend(done)
    is_pi = t.is_pi
    if is_pi is None:
        try:
            is_pi = host.file("/sys/firmware/devicetree/base/model").exists
        except Exception as exc:
            results.append(check_error(t, "Raspberry Pi detection", exc))
            is_pi = False
    if is_pi:
        results.extend(_guarded(t, "Raspberry Pi hardware", lambda: check_pi(host, t)))
    return results


def error_text(exc: BaseException) -> str:
    """What went wrong, in one line. testinfra raises ``RuntimeError(CommandResult)`` when
    it cannot connect; that result's stderr says why (``ssh: connect to host …``), where
    ``str(exc)`` is the object's repr."""
    result = exc.args[0] if exc.args else None
    stderr = getattr(result, "stderr", None)
    text = stderr if isinstance(stderr, str) and stderr.strip() else str(exc)
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[0][:200] if lines else type(exc).__name__


def check_error(t: HostTarget, name: str, exc: BaseException) -> CheckResult:
    """A check that raised: a failure for this host and check, with the error's text."""
    text = str(exc).strip().splitlines()
    detail = f"check could not run: {type(exc).__name__}" + (f": {text[0][:200]}" if text else "")
    return CheckResult(
        t.name,
        name,
        FAIL,
        detail,
        "The host answered in a way the check did not expect (odd command output, an "
        "unreadable file, a dropped connection): look at it by hand, and report it if the "
        "host is fine.",
    )


def _guarded(
    t: HostTarget, name: str, check: Callable[[], Iterable[CheckResult]]
) -> list[CheckResult]:
    """Run one check; its results so far plus a failure if it raised part-way."""
    done: list[CheckResult] = []
    try:
        for result in check():
            done.append(result)
    except Exception as exc:
        done.append(check_error(t, name, exc))
    return done
