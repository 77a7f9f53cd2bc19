"""Prove a k3s cluster on Pis is healthy: testinfra checks → list[CheckResult].

Host checks run on every inventory host through testinfra's ansible backend (the same
connection settings as bootstrap), in parallel across hosts. Cluster checks run from the
first server with ``k3s kubectl``. Each failure carries the likely cause and the fix.
The parsers at the top are pure and tested from fixtures.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from pi_k8s import paths
from pi_k8s.errors import SpecError

PASS, WARN, FAIL, SKIP = "pass", "warn", "fail", "skip"

REQUIRED_CONTROLLERS = ("cpu", "cpuset", "memory")
REQUIRED_MODULES = ("br_netfilter", "overlay")
REQUIRED_SYSCTLS = {
    "net.ipv4.ip_forward": "1",
    "net.bridge.bridge-nf-call-iptables": "1",
    "net.bridge.bridge-nf-call-ip6tables": "1",
}
K3S_CONFIG = "/etc/rancher/k3s/config.yaml"
K3S_BINARY = "/usr/local/bin/k3s"
# Written by roles/k3s_install (k3s_install_sha256_file) once the binary passed the release's
# checksum: `<sha256>  /usr/local/bin/k3s`, the format `sha256sum -c` reads.
K3S_SHA256_RECORD = "/var/lib/pi-k8s/k3s.sha256"
DEFAULT_MIN_FREE_MB = 2048
# Multi-arch (arm64, arm/v7, amd64) and tiny: the DNS smoke test's pod.
DNS_SMOKE_IMAGE = "busybox:1.36"
SOC_TEMP_WARN_C = 80.0


@dataclass
class CheckResult:
    host: str
    name: str
    status: str  # pass | warn | fail | skip
    detail: str = ""
    hint: str = ""

    def to_dict(self) -> dict[str, str]:
        return asdict(self)


@dataclass
class NodeStatus:
    name: str
    ready: str  # True | False | Unknown
    reason: str
    kubelet_version: str
    arch: str
    roles: list[str] = field(default_factory=list)
    internal_ip: str | None = None


@dataclass
class HostTarget:
    """One inventory host and what verify expects of it."""

    name: str
    role: str  # server | agent
    is_pi: bool | None = None  # None: detect from the device tree
    ha: bool = False


@dataclass
class VerifyReport:
    results: list[CheckResult]

    @property
    def failed(self) -> list[CheckResult]:
        return [r for r in self.results if r.status == FAIL]

    @property
    def warnings(self) -> list[CheckResult]:
        return [r for r in self.results if r.status == WARN]

    @property
    def ok(self) -> bool:
        return not self.failed

    def to_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "results": [r.to_dict() for r in self.results]}


# ----------------------------------------------------------------------------- parsers


def parse_controllers(text: str) -> set[str]:
    """``/sys/fs/cgroup/cgroup.controllers``: space-separated controller names."""
    return set(text.split())


# Bits of ``vcgencmd get_throttled`` (Raspberry Pi documentation, os.adoc).
THROTTLE_BITS = {
    0: "under-voltage detected",
    1: "arm frequency capped",
    2: "currently throttled",
    3: "soft temperature limit active",
    16: "under-voltage has occurred",
    17: "arm frequency capping has occurred",
    18: "throttling has occurred",
    19: "soft temperature limit has occurred",
}


def parse_proc_cgroups(text: str) -> set[str]:
    """``/proc/cgroups`` (cgroup v1): the controllers whose ``enabled`` column is 1."""
    enabled = set()
    for line in text.splitlines():
        fields = line.split()
        if len(fields) == 4 and not line.startswith("#") and fields[3] == "1":
            enabled.add(fields[0])
    return enabled


def decode_throttled(output: str) -> list[str]:
    """``throttled=0x50005`` → the list of conditions it flags (empty when healthy)."""
    value = output.strip().partition("=")[2] or output.strip()
    bits = int(value, 16)
    return [text for bit, text in sorted(THROTTLE_BITS.items()) if bits & (1 << bit)]


def parse_nodes(text: str) -> list[NodeStatus]:
    """``kubectl get nodes -o json`` → one NodeStatus per node."""
    data = json.loads(text)
    nodes = []
    for item in data.get("items", []):
        meta = item.get("metadata", {})
        status = item.get("status", {})
        ready = next(
            (c for c in status.get("conditions", []) if c.get("type") == "Ready"),
            {"status": "Unknown", "reason": "NoReadyCondition"},
        )
        labels = meta.get("labels", {}) or {}
        roles = sorted(
            key.rsplit("/", 1)[1] for key in labels if key.startswith("node-role.kubernetes.io/")
        )
        internal = next(
            (a["address"] for a in status.get("addresses", []) if a.get("type") == "InternalIP"),
            None,
        )
        info = status.get("nodeInfo", {})
        nodes.append(
            NodeStatus(
                name=meta.get("name", ""),
                ready=ready.get("status", "Unknown"),
                reason=ready.get("reason", ""),
                kubelet_version=info.get("kubeletVersion", ""),
                arch=info.get("architecture", ""),
                roles=roles,
                internal_ip=internal,
            )
        )
    return nodes


def parse_pods(text: str) -> list[tuple[str, str]]:
    """``kubectl get pods -o json`` → (name, phase) of each pod."""
    data = json.loads(text)
    return [
        (item["metadata"]["name"], item.get("status", {}).get("phase", "Unknown"))
        for item in data.get("items", [])
    ]


# ----------------------------------------------------------------------------- host checks

Check = Callable[[Any, HostTarget], Iterable[CheckResult]]


def _r(
    t: HostTarget, name: str, ok: bool, detail: str, hint: str, warn: bool = False
) -> CheckResult:
    status = PASS if ok else (WARN if warn else FAIL)
    return CheckResult(t.name, name, status, detail, "" if ok else hint)


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
    yield _r(t, "cgroup controllers", not missing, detail, hint)


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
    yield _r(
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
        yield _r(
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
        yield _r(
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
    out = host.run("timedatectl show -p NTPSynchronized --value")
    if out.rc == 0 and out.stdout.strip() == "yes":
        yield _r(t, "time synchronised", True, "NTP synchronised", hint)
        return
    container = host.run("systemd-detect-virt --container").stdout.strip()
    if container and container != "none":
        # A container's clock is the host kernel's; what the host can get wrong here is
        # having no time service at all once it is a real machine.
        enabled = host.run("systemctl is-enabled systemd-timesyncd").stdout.strip()
        yield _r(
            t,
            "time synchronised",
            enabled == "enabled",
            f"{container}: clock is the host's; systemd-timesyncd {enabled or 'absent'}",
            hint,
        )
        return
    yield _r(t, "time synchronised", False, out.stdout.strip() or out.stderr.strip(), hint)


def check_k3s_binary(host: Any, t: HostTarget, version: str | None) -> Iterable[CheckResult]:
    binary = host.file(K3S_BINARY)
    if not binary.exists:
        yield _r(
            t,
            "k3s binary",
            False,
            "/usr/local/bin/k3s missing",
            "k3s is not installed: run `pi-k8s bootstrap`.",
        )
        return
    out = host.run("/usr/local/bin/k3s --version")
    first = out.stdout.splitlines()[0] if out.stdout else out.stderr.strip()
    installed = first.split()[2] if len(first.split()) > 2 else first
    if version:
        yield _r(
            t,
            "k3s version",
            installed == version,
            f"{installed} (want {version})",
            "Run `pi-k8s bootstrap` to install the inventory's version.",
        )
    else:
        yield _r(t, "k3s version", out.rc == 0, installed, "k3s --version failed.")
    yield from check_k3s_checksum(host, t, binary)


def check_k3s_checksum(host: Any, t: HostTarget, binary: Any) -> Iterable[CheckResult]:
    """The binary on disk against the sha256 the install role verified and recorded."""
    recorded = host.file(K3S_SHA256_RECORD)
    if not recorded.exists:
        yield _r(
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
    yield _r(
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
    yield _r(
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
        yield _r(
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
            yield _r(t, f"mode {path}", False, "missing", "Re-run bootstrap to write it.")
            continue
        mode = f.mode
        yield _r(
            t,
            f"mode {path}",
            mode == 0o600,
            f"{mode:04o}",
            f"It can hold the cluster token: `sudo chmod 600 {path}`.",
        )


def check_disk(host: Any, t: HostTarget, min_free_mb: int) -> Iterable[CheckResult]:
    out = host.run("df -Pm /var/lib/rancher 2>/dev/null || df -Pm /var/lib")
    fields = out.stdout.strip().splitlines()[-1].split() if out.rc == 0 else []
    free = int(fields[3]) if len(fields) > 3 else -1
    yield _r(
        t,
        "disk space",
        free >= min_free_mb,
        f"{free} MB free (want ≥ {min_free_mb})",
        "Free space under /var/lib/rancher: images and etcd need room.",
    )


def check_pi(host: Any, t: HostTarget) -> Iterable[CheckResult]:
    if host.exists("vcgencmd"):
        out = host.run("vcgencmd get_throttled")
        flags = decode_throttled(out.stdout) if out.rc == 0 else ["vcgencmd failed"]
        yield _r(
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
        yield _r(
            t,
            "SoC temperature",
            celsius < SOC_TEMP_WARN_C,
            f"{celsius:.1f} °C",
            "Add a heatsink or fan: the SoC throttles above 80 °C.",
            warn=True,
        )
    root = host.run("findmnt -no SOURCE /").stdout.strip()
    on_sd = "mmcblk" in root
    yield _r(
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
        host.run("true")  # connect first: an unreachable host is one failure, not twenty
    except Exception as exc:
        return [
            CheckResult(
                t.name,
                "reachable",
                FAIL,
                _error_text(exc),
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
    for name, check in checks:
        results.extend(_guarded(t, name, check))
    is_pi = t.is_pi
    if is_pi is None:
        try:
            is_pi = host.file("/sys/firmware/devicetree/base/model").exists
        except Exception as exc:
            results.append(_check_error(t, "Raspberry Pi detection", exc))
            is_pi = False
    if is_pi:
        results.extend(_guarded(t, "Raspberry Pi hardware", lambda: check_pi(host, t)))
    return results


def _error_text(exc: BaseException) -> str:
    """What went wrong, in one line. testinfra raises ``RuntimeError(CommandResult)`` when
    it cannot connect; that result's stderr says why (``ssh: connect to host …``), where
    ``str(exc)`` is the object's repr."""
    result = exc.args[0] if exc.args else None
    stderr = getattr(result, "stderr", None)
    text = stderr if isinstance(stderr, str) and stderr.strip() else str(exc)
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[0][:200] if lines else type(exc).__name__


def _check_error(t: HostTarget, name: str, exc: BaseException) -> CheckResult:
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
        done.append(_check_error(t, name, exc))
    return done


# ----------------------------------------------------------------------------- cluster checks


def cluster_checks(
    server: Any,
    server_name: str,
    targets: list[HostTarget],
    *,
    version: str | None,
    workloads: bool,
    dns_image: str | None = DNS_SMOKE_IMAGE,
    dns_why_not: str = "",
) -> list[CheckResult]:
    results: list[CheckResult] = []
    out = server.run("k3s kubectl get nodes -o json")
    if out.rc != 0:
        return [
            CheckResult(
                server_name,
                "cluster nodes",
                FAIL,
                out.stderr.strip()[:200],
                "The API server does not answer: check the k3s service on it.",
            )
        ]
    nodes = {n.name: n for n in parse_nodes(out.stdout)}
    for t in targets:
        node = nodes.get(t.name)
        if node is None:
            results.append(
                CheckResult(
                    t.name,
                    "node registered",
                    FAIL,
                    "not a node",
                    "The host never joined: check k3s-agent's journal for "
                    "token or server-address errors, and port 6443 reachability.",
                )
            )
            continue
        ok = node.ready == "True"
        results.append(
            _r(
                t,
                "node Ready",
                ok,
                f"{node.ready} ({node.reason})",
                "The node stopped reporting: is its k3s service running and can it "
                "reach the server on 6443?",
            )
        )
    versions = sorted({n.kubelet_version for n in nodes.values()})
    want = version or (versions[0] if versions else "")
    results.append(
        CheckResult(
            server_name,
            "node versions",
            PASS if versions == [want] else FAIL,
            ", ".join(versions),
            ""
            if versions == [want]
            else "Nodes run different versions: finish the upgrade with `pi-k8s bootstrap`.",
        )
    )
    if not workloads:
        for name in ("kube-system pods", "cluster DNS"):
            results.append(CheckResult(server_name, name, SKIP, "--skip-workloads"))
        return results
    pods = server.run("k3s kubectl get pods -n kube-system -o json")
    if pods.rc != 0:
        results.append(
            CheckResult(
                server_name,
                "kube-system pods",
                FAIL,
                pods.stderr.strip()[:200],
                "Pass --skip-workloads where no images can be pulled.",
            )
        )
        return results
    bad = [(n, p) for n, p in parse_pods(pods.stdout) if p not in {"Running", "Succeeded"}]
    results.append(
        CheckResult(
            server_name,
            "kube-system pods",
            PASS if not bad else FAIL,
            ", ".join(f"{n}={p}" for n, p in bad) or "all running",
            ""
            if not bad
            else "Pods are not running: `k3s kubectl -n kube-system describe pod` "
            "(image pulls need internet or the airgap images).",
        )
    )
    results.append(check_dns(server, server_name, dns_image, dns_why_not))
    return results


# A short-lived pod that resolves the API server's service name through CoreDNS.
def dns_smoke_command(image: str) -> str:
    return (
        "k3s kubectl run pi-k8s-dns-smoke --rm -i --restart=Never --quiet "
        f"--image={image} --pod-running-timeout=120s -- nslookup kubernetes.default"
    )


def parse_nslookup(output: str) -> str | None:
    """The address nslookup gave for kubernetes.default, or None when it failed."""
    answer = output.split("Name:", 1)
    if len(answer) < 2:
        return None
    for line in answer[1].splitlines():
        if line.strip().startswith("Address"):
            return line.split(":", 1)[1].strip().split()[0]
    return None


def check_dns(
    server: Any, server_name: str, image: str | None = DNS_SMOKE_IMAGE, why_not: str = ""
) -> CheckResult:
    """Resolve kubernetes.default from a pod of ``image``; no image: a warning saying why."""
    if image is None:
        return CheckResult(
            server_name,
            "cluster DNS",
            WARN,
            f"not checked: {why_not}",
            "Put the release's k3s-airgap-images-<arch>.tar.zst and k3s-images.txt in the "
            "airgap directory to have it checked.",
        )
    out = server.run(dns_smoke_command(image))
    address = parse_nslookup(out.stdout) if out.rc == 0 else None
    if address:
        return CheckResult(server_name, "cluster DNS", PASS, f"kubernetes.default → {address}")
    detail = (out.stderr.strip() or out.stdout.strip() or f"rc={out.rc}").splitlines()[-1][:200]
    return CheckResult(
        server_name,
        "cluster DNS",
        FAIL,
        detail,
        "A pod could not resolve kubernetes.default: check the coredns pod in kube-system and "
        f"that {image} can be pulled (or pass --skip-workloads).",
    )


# ----------------------------------------------------------------------------- entry point


def load_targets(inventory: Path) -> tuple[list[HostTarget], dict[str, Any]]:
    """Hosts of the ``server`` and ``agent`` groups, plus the cluster's group vars."""
    if not inventory.is_file():
        raise SpecError(
            f"Inventory {inventory} does not exist.",
            hint="Pass --inventory FILE, or make one with `pi-k8s inventory`.",
        )
    from ansible.inventory.manager import InventoryManager
    from ansible.parsing.dataloader import DataLoader
    from ansible.vars.manager import VariableManager

    loader = DataLoader()
    inv = InventoryManager(loader=loader, sources=[str(inventory)])
    groups = inv.get_groups_dict()
    servers = groups.get("server", [])
    agents = groups.get("agent", [])
    if not servers:
        raise SpecError(
            f"{inventory}: no hosts in group 'server'.",
            hint="A k3s inventory needs a 'server' group (and optionally 'agent').",
        )
    ha = len(servers) > 1
    targets = [HostTarget(h, "server", ha=ha) for h in servers]
    targets += [HostTarget(h, "agent") for h in agents if h not in servers]
    variables = VariableManager(loader=loader, inventory=inv).get_vars(
        host=inv.get_host(servers[0])
    )
    for t in targets:
        pi = (
            VariableManager(loader=loader, inventory=inv)
            .get_vars(host=inv.get_host(t.name))
            .get("pi_prereq_is_raspberry_pi")
        )
        t.is_pi = bool(pi) if pi is not None else None
    return targets, variables


def verify(
    inventory: Path,
    *,
    workloads: bool = True,
    min_free_mb: int = DEFAULT_MIN_FREE_MB,
    on_host_done: Callable[[str], None] | None = None,
    version: str | None = None,
    dns_image: str | None = DNS_SMOKE_IMAGE,
    dns_why_not: str = "",
) -> VerifyReport:
    """Check every host and the cluster.

    ``dns_image`` runs the DNS smoke test; ``None`` skips it with a warning giving
    ``dns_why_not`` (an offline LAN with no busybox image to run).

    ``version`` is the k3s release every node must run. ``None`` takes the inventory's
    ``cluster_k3s_version``; ``""`` expects no particular one (only one for all nodes),
    e.g. after `bootstrap --k3s-channel`, where the channel chose it.
    """
    import testinfra

    targets, variables = load_targets(inventory)
    if version is None:
        version = variables.get("cluster_k3s_version") or None
    version = version or None
    # testinfra reads ansible.cfg (ssh args) and calls ansible-inventory from PATH.
    os.environ.setdefault("ANSIBLE_CONFIG", str(paths.content_dir() / "ansible.cfg"))
    bindir = str(Path(sys.executable).parent)
    if shutil.which("ansible-inventory") is None:
        os.environ["PATH"] = bindir + os.pathsep + os.environ.get("PATH", "")

    def one(t: HostTarget) -> list[CheckResult]:
        # Whatever goes wrong on one host is a failure of that host, never of the report.
        try:
            host = testinfra.get_host(f"ansible://{t.name}", ansible_inventory=str(inventory))
            # Root reads what k3s keeps private (k3s.yaml, config files), as bootstrap's become.
            with host.sudo():
                res = host_checks(host, t, version=version, min_free_mb=min_free_mb)
        except Exception as exc:
            res = [_check_error(t, "reachable", exc)]
        if on_host_done:
            on_host_done(t.name)
        return res

    results: list[CheckResult] = []
    with ThreadPoolExecutor(max_workers=min(16, len(targets))) as pool:
        for res in pool.map(one, targets):
            results.extend(res)
    first = targets[0]
    server = testinfra.get_host(f"ansible://{first.name}", ansible_inventory=str(inventory))
    try:
        with server.sudo():
            results.extend(
                cluster_checks(
                    server,
                    first.name,
                    targets,
                    version=version,
                    workloads=workloads,
                    dns_image=dns_image,
                    dns_why_not=dns_why_not,
                )
            )
    except Exception as exc:
        results.append(
            CheckResult(
                first.name,
                "cluster nodes",
                FAIL,
                _error_text(exc),
                "The first server is unreachable.",
            )
        )
    return VerifyReport(results)


def to_junit(report: VerifyReport) -> str:
    """JUnit XML: one testsuite per host, one testcase per check."""
    from xml.etree import ElementTree as ET

    root = ET.Element("testsuites", name="pi-k8s verify")
    by_host: dict[str, list[CheckResult]] = {}
    for r in report.results:
        by_host.setdefault(r.host, []).append(r)
    for host, results in by_host.items():
        suite = ET.SubElement(
            root,
            "testsuite",
            name=host,
            tests=str(len(results)),
            failures=str(sum(r.status == FAIL for r in results)),
            skipped=str(sum(r.status == SKIP for r in results)),
        )
        for r in results:
            case = ET.SubElement(suite, "testcase", classname=host, name=r.name)
            if r.status == FAIL:
                ET.SubElement(case, "failure", message=r.detail).text = r.hint
            elif r.status == SKIP:
                ET.SubElement(case, "skipped", message=r.detail)
            elif r.status == WARN:
                ET.SubElement(case, "system-out").text = f"warning: {r.detail}. {r.hint}"
    return ET.tostring(root, encoding="unicode", xml_declaration=True) + "\n"
