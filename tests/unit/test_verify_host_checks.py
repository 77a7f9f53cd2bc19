"""verify's host checks on kernel and systemd states the podman testbed cannot reach.

The testbed's hosts are containers sharing the CI machine's kernel, so every one of them
sees the same cgroup layout, swap, modules and sysctls, and `systemd-detect-virt` always
says podman. The branches below are therefore run here against `ScriptedHost`, which
answers with the file contents and command outputs these have on real Pis and VMs.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import pytest

from pi_k8s import verify


class _Dir:
    """A scripted path that exists and is a directory (reading it as text is an error)."""


DIR = _Dir()
FileValue = str | _Dir | None  # text, a directory, or None for a path that does not exist


@dataclass(frozen=True)
class Out:
    """What testinfra's ``host.run`` returns, reduced to the fields verify reads."""

    rc: int
    stdout: str = ""
    stderr: str = ""


class ScriptedFile:
    def __init__(self, path: str, value: FileValue) -> None:
        self.path = path
        self.value = value

    @property
    def exists(self) -> bool:
        return self.value is not None

    @property
    def content_string(self) -> str:
        if not isinstance(self.value, str):
            kind = "absent" if self.value is None else "a directory"
            raise AssertionError(f"read {self.path}, which is {kind} in this case")
        return self.value


class ScriptedHost:
    """Stands in for the testinfra host of a real Pi or VM in verify's host checks.

    The testbed cannot reach these branches: its containers share the CI machine's
    kernel (one cgroup layout, one swap table, one set of modules and sysctls) and are
    always a container to `systemd-detect-virt`. So each case scripts the real contents
    of the files and the real output and exit code of the commands a check reads.
    It implements only the testinfra API those checks use: ``file(path)`` with
    ``exists`` and ``content_string``, ``run(command)`` with ``rc``, ``stdout`` and
    ``stderr``, and ``exists(command)``. A path or command the case did not script fails
    the test, and so does a scripted one the check never read: a changed check cannot
    pass by looking somewhere else.
    """

    def __init__(
        self,
        files: dict[str, FileValue] | None = None,
        commands: dict[str, Out] | None = None,
        on_path: dict[str, bool] | None = None,
    ) -> None:
        self.files = files or {}
        self.commands = commands or {}
        self.on_path = on_path or {}
        self.read: set[str] = set()

    def file(self, path: str) -> ScriptedFile:
        if path not in self.files:
            raise AssertionError(f"unscripted file: {path}")
        self.read.add(path)
        return ScriptedFile(path, self.files[path])

    def run(self, command: str) -> Out:
        if command not in self.commands:
            raise AssertionError(f"unscripted command: {command}")
        self.read.add(command)
        return self.commands[command]

    def exists(self, command: str) -> bool:
        if command not in self.on_path:
            raise AssertionError(f"unscripted lookup of a command on PATH: {command}")
        self.read.add(f"exists {command}")
        return self.on_path[command]

    def unread(self) -> list[str]:
        scripted = [*self.files, *self.commands, *(f"exists {c}" for c in self.on_path)]
        return [s for s in scripted if s not in self.read]


# Expected result rows: (name, status, detail, a phrase of the hint; "" means no hint).
Row = tuple[str, str, str, str]


def check_gives(
    check: Callable[[Any, verify.HostTarget], Iterable[verify.CheckResult]],
    host: ScriptedHost,
    rows: list[Row],
    role: str = "server",
) -> None:
    results = list(check(host, verify.HostTarget("rpi-1", role)))
    got = [(r.host, r.name, r.status, r.detail) for r in results]
    assert got == [("rpi-1", name, status, detail) for name, status, detail, _ in rows]
    for result, (*_, hint) in zip(results, rows, strict=True):
        if hint:
            assert hint in result.hint
        else:
            assert result.hint == ""
    assert host.unread() == [], "scripted but never read by the check"


# ----------------------------------------------------------------------------- cgroups

# Raspberry Pi OS Bookworm, kernel 6.6: cgroup v2 with every controller k3s needs.
CONTROLLERS_PI = "cpuset cpu io memory hugetlb pids rdma misc\n"
# The same kernel with cgroup_disable=memory winning (Pi kernel 6.12 firmware).
CONTROLLERS_PI_NO_MEMORY = "cpuset cpu io hugetlb pids rdma misc\n"
# /boot/firmware/cmdline.txt of a Bookworm image after first boot, then with pi_prereq's flags.
CMDLINE = (
    "console=serial0,115200 console=tty1 root=PARTUUID=9a5f1c4e-02 rootfstype=ext4 "
    "fsck.repair=yes rootwait quiet splash plymouth.ignore-udev cfg80211.ieee80211_regdom=GB\n"
)
CMDLINE_WITH_FLAGS = CMDLINE.rstrip("\n") + " cgroup_memory=1 cgroup_enable=memory\n"
# /boot/cmdline.txt of a Bullseye image (no /boot/firmware yet).
CMDLINE_BULLSEYE = (
    "console=serial0,115200 console=tty1 root=PARTUUID=738a4d67-02 rootfstype=ext4 "
    "fsck.repair=yes rootwait quiet splash plymouth.ignore-udev\n"
)


def proc_cgroups(memory: str) -> str:
    """/proc/cgroups of a Bullseye Pi (cgroup v1); ``memory`` is its whole row."""
    return (
        "#subsys_name\thierarchy\tnum_cgroups\tenabled\n"
        "cpuset\t2\t1\t1\n"
        "cpu\t3\t62\t1\n"
        "cpuacct\t3\t62\t1\n"
        "blkio\t4\t62\t1\n"
        f"{memory}\n"
        "devices\t5\t62\t1\n"
        "freezer\t6\t1\t1\n"
        "net_cls\t7\t1\t1\n"
        "perf_event\t8\t1\t1\n"
        "net_prio\t7\t1\t1\n"
        "pids\t9\t67\t1\n"
    )


V2 = "/sys/fs/cgroup/cgroup.controllers"

CGROUP_CASES = {
    "v2-all-controllers": (
        {V2: CONTROLLERS_PI},
        [("cgroup controllers", "pass", "cgroup v2: cpu cpuset memory", "")],
    ),
    "v2-no-memory-flag-missing-from-cmdline": (
        {V2: CONTROLLERS_PI_NO_MEMORY, "/boot/firmware/cmdline.txt": CMDLINE},
        [
            (
                "cgroup controllers",
                "fail",
                "cgroup v2: missing memory",
                "cgroup_enable=memory is missing from /boot/firmware/cmdline.txt",
            )
        ],
    ),
    "v2-no-memory-flag-in-cmdline-not-active": (
        {V2: CONTROLLERS_PI_NO_MEMORY, "/boot/firmware/cmdline.txt": CMDLINE_WITH_FLAGS},
        [
            (
                "cgroup controllers",
                "fail",
                "cgroup v2: missing memory",
                "cmdline.txt flags not active: reboot",
            )
        ],
    ),
    "v1-memory-enabled": (
        {V2: None, "/proc/cgroups": proc_cgroups("memory\t10\t75\t1")},
        [("cgroup controllers", "pass", "cgroup v1: cpu cpuset memory", "")],
    ),
    "v1-memory-disabled-bullseye-cmdline": (
        {
            V2: None,
            "/proc/cgroups": proc_cgroups("memory\t0\t70\t0"),
            "/boot/firmware/cmdline.txt": None,
            "/boot/cmdline.txt": CMDLINE_BULLSEYE,
        },
        [
            (
                "cgroup controllers",
                "fail",
                "cgroup v1: missing memory",
                "cgroup_enable=memory is missing from /boot/cmdline.txt",
            )
        ],
    ),
}


@pytest.mark.parametrize("case", CGROUP_CASES)
def test_cgroups(case: str) -> None:
    files, rows = CGROUP_CASES[case]
    check_gives(verify.check_cgroups, ScriptedHost(files), rows)


# ----------------------------------------------------------------------------- swap

SWAPS_HEADER = "Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n"
# The kernel pads the path to 40 columns; dphys-swapfile's default 100 MB file.
SWAPS_DPHYS = SWAPS_HEADER + "/var/swap" + " " * 31 + "file\t\t102396\t\t0\t\t-2\n"
# A 2 GiB zram device (zram-tools, systemd-zram-generator) next to dphys-swapfile's file.
SWAPS_ZRAM_AND_FILE = (
    SWAPS_HEADER
    + "/dev/zram0" + " " * 30 + "partition\t2097148\t\t0\t\t100\n"
    + "/var/swap" + " " * 31 + "file\t\t102396\t\t0\t\t-2\n"
)  # fmt: skip

SWAP_CASES = {
    "header-only": (SWAPS_HEADER, [("swap off", "pass", "no swap", "")]),
    "dphys-swapfile": (SWAPS_DPHYS, [("swap off", "fail", "/var/swap", "dphys-swapfile")]),
    "zram-and-file": (
        SWAPS_ZRAM_AND_FILE,
        [("swap off", "fail", "/dev/zram0, /var/swap", "`sudo swapoff -a`")],
    ),
}


@pytest.mark.parametrize("case", SWAP_CASES)
def test_swap(case: str) -> None:
    swaps, rows = SWAP_CASES[case]
    check_gives(verify.check_swap, ScriptedHost({"/proc/swaps": swaps}), rows)


# ----------------------------------------------------------------------------- time

TIMEDATECTL = "timedatectl show -p NTPSynchronized --value"
DETECT_VIRT = "systemd-detect-virt --container"
TIMESYNCD = "systemctl is-enabled systemd-timesyncd"
TIME_HINT = "sudo systemctl enable --now systemd-timesyncd"

TIME_CASES = {
    "synchronised": (
        {TIMEDATECTL: Out(0, "yes\n")},
        [("time synchronised", "pass", "NTP synchronised", "")],
    ),
    "not-synchronised-on-a-real-machine": (
        {TIMEDATECTL: Out(0, "no\n"), DETECT_VIRT: Out(1, "none\n")},
        [("time synchronised", "fail", "no", TIME_HINT)],
    ),
    "container-with-timesyncd-enabled": (
        {
            TIMEDATECTL: Out(0, "no\n"),
            DETECT_VIRT: Out(0, "podman\n"),
            TIMESYNCD: Out(0, "enabled\n"),
        },
        [
            (
                "time synchronised",
                "pass",
                "podman: clock is the host's; systemd-timesyncd enabled",
                "",
            )
        ],
    ),
    "container-with-timesyncd-disabled": (
        {
            TIMEDATECTL: Out(0, "no\n"),
            DETECT_VIRT: Out(0, "podman\n"),
            TIMESYNCD: Out(1, "disabled\n"),
        },
        [
            (
                "time synchronised",
                "fail",
                "podman: clock is the host's; systemd-timesyncd disabled",
                TIME_HINT,
            )
        ],
    ),
    "container-without-timesyncd": (
        {
            TIMEDATECTL: Out(0, "no\n"),
            DETECT_VIRT: Out(0, "podman\n"),
            TIMESYNCD: Out(
                1,
                "",
                "Failed to get unit file state for systemd-timesyncd.service: "
                "No such file or directory\n",
            ),
        },
        [
            (
                "time synchronised",
                "fail",
                "podman: clock is the host's; systemd-timesyncd absent",
                TIME_HINT,
            )
        ],
    ),
}


@pytest.mark.parametrize("case", TIME_CASES)
def test_time(case: str) -> None:
    commands, rows = TIME_CASES[case]
    check_gives(verify.check_time, ScriptedHost(commands=commands), rows)


# ----------------------------------------------------------------------------- modules

# /proc/filesystems of Raspberry Pi OS Bookworm (kernel 6.6), with and without overlay.
FILESYSTEMS_NO_OVERLAY = (
    "nodev\tsysfs\nnodev\ttmpfs\nnodev\tbdev\nnodev\tproc\nnodev\tcgroup\nnodev\tcgroup2\n"
    "nodev\tcpuset\nnodev\tdevtmpfs\nnodev\tconfigfs\nnodev\tdebugfs\nnodev\ttracefs\n"
    "nodev\tsockfs\nnodev\tbpf\nnodev\tpipefs\nnodev\tramfs\nnodev\thugetlbfs\nnodev\tdevpts\n"
    "\text3\n\text2\n\text4\n\tvfat\nnodev\tnfs\nnodev\tnfs4\nnodev\tautofs\nnodev\tmqueue\n"
    "nodev\tpstore\n"
)
FILESYSTEMS = FILESYSTEMS_NO_OVERLAY + "nodev\toverlay\n"
MODPROBE = "`sudo modprobe {}` and keep it in /etc/modules-load.d/k3s.conf"

MODULE_CASES = {
    "loaded": (
        {"/sys/module/br_netfilter": DIR, "/sys/module/overlay": DIR},
        [
            ("module br_netfilter", "pass", "loaded", ""),
            ("module overlay", "pass", "loaded", ""),
        ],
    ),
    "built-in": (
        {
            "/sys/module/br_netfilter": None,
            "/proc/sys/net/bridge": DIR,
            "/sys/module/overlay": None,
            "/proc/filesystems": FILESYSTEMS,
        },
        [
            (
                "module br_netfilter",
                "pass",
                "built in (the bridge netfilter sysctls exist)",
                "",
            ),
            ("module overlay", "pass", "built in (overlay is a known filesystem)", ""),
        ],
    ),
    "absent": (
        {
            "/sys/module/br_netfilter": None,
            "/proc/sys/net/bridge": None,
            "/sys/module/overlay": None,
            "/proc/filesystems": FILESYSTEMS_NO_OVERLAY,
        },
        [
            ("module br_netfilter", "fail", "not loaded", MODPROBE.format("br_netfilter")),
            ("module overlay", "fail", "not loaded", MODPROBE.format("overlay")),
        ],
    ),
}


@pytest.mark.parametrize("case", MODULE_CASES)
def test_modules(case: str) -> None:
    files, rows = MODULE_CASES[case]
    check_gives(verify.check_modules, ScriptedHost(files), rows)


# ----------------------------------------------------------------------------- sysctls

IP_FORWARD = "/proc/sys/net/ipv4/ip_forward"
NF_IPTABLES = "/proc/sys/net/bridge/bridge-nf-call-iptables"
NF_IP6TABLES = "/proc/sys/net/bridge/bridge-nf-call-ip6tables"

SYSCTL_CASES = {
    "all-set": (
        {IP_FORWARD: "1\n", NF_IPTABLES: "1\n", NF_IP6TABLES: "1\n"},
        [
            ("sysctl net.ipv4.ip_forward", "pass", "1 (want 1)", ""),
            ("sysctl net.bridge.bridge-nf-call-iptables", "pass", "1 (want 1)", ""),
            ("sysctl net.bridge.bridge-nf-call-ip6tables", "pass", "1 (want 1)", ""),
        ],
    ),
    "ip-forward-off": (
        {IP_FORWARD: "0\n", NF_IPTABLES: "1\n", NF_IP6TABLES: "1\n"},
        [
            (
                "sysctl net.ipv4.ip_forward",
                "fail",
                "0 (want 1)",
                "Set net.ipv4.ip_forward=1 in /etc/sysctl.d/90-k3s.conf",
            ),
            ("sysctl net.bridge.bridge-nf-call-iptables", "pass", "1 (want 1)", ""),
            ("sysctl net.bridge.bridge-nf-call-ip6tables", "pass", "1 (want 1)", ""),
        ],
    ),
    # br_netfilter not loaded: the bridge sysctls do not exist at all.
    "bridge-sysctls-absent": (
        {IP_FORWARD: "1\n", NF_IPTABLES: None, NF_IP6TABLES: None},
        [
            ("sysctl net.ipv4.ip_forward", "pass", "1 (want 1)", ""),
            (
                "sysctl net.bridge.bridge-nf-call-iptables",
                "fail",
                "absent (want 1)",
                "Set net.bridge.bridge-nf-call-iptables=1",
            ),
            (
                "sysctl net.bridge.bridge-nf-call-ip6tables",
                "fail",
                "absent (want 1)",
                "Set net.bridge.bridge-nf-call-ip6tables=1",
            ),
        ],
    ),
}


@pytest.mark.parametrize("case", SYSCTL_CASES)
def test_sysctls(case: str) -> None:
    files, rows = SYSCTL_CASES[case]
    check_gives(verify.check_sysctls, ScriptedHost(files), rows)


# ----------------------------------------------------------------------------- Pi hardware

THERMAL = "/sys/class/thermal/thermal_zone0/temp"
THROTTLED = "vcgencmd get_throttled"
ROOT_SOURCE = "findmnt -no SOURCE /"

PI_CASES = {
    "pi5-server-on-nvme-healthy": (
        "server",
        {"vcgencmd": True},
        {THERMAL: "47236\n"},
        {THROTTLED: Out(0, "throttled=0x0\n"), ROOT_SOURCE: Out(0, "/dev/nvme0n1p2\n")},
        [
            ("power and throttling", "pass", "none", ""),
            ("SoC temperature", "pass", "47.2 °C", ""),
            ("root device", "pass", "/dev/nvme0n1p2", ""),
        ],
    ),
    "pi4-server-on-sd-under-voltage-and-hot": (
        "server",
        {"vcgencmd": True},
        {THERMAL: "82374\n"},
        {THROTTLED: Out(0, "throttled=0x50005\n"), ROOT_SOURCE: Out(0, "/dev/mmcblk0p2\n")},
        [
            (
                "power and throttling",
                "warn",
                "under-voltage detected, currently throttled, "
                "under-voltage has occurred, throttling has occurred",
                "official power supply",
            ),
            ("SoC temperature", "warn", "82.4 °C", "heatsink or fan"),
            ("root device", "warn", "/dev/mmcblk0p2", "move the root to an SSD"),
        ],
    ),
    # An agent may live on an SD card; no vcgencmd (e.g. Ubuntu without libraspberrypi-bin).
    "agent-on-sd-without-vcgencmd": (
        "agent",
        {"vcgencmd": False},
        {THERMAL: "51121\n"},
        {ROOT_SOURCE: Out(0, "/dev/mmcblk0p2\n")},
        [
            ("power and throttling", "skip", "vcgencmd not installed", ""),
            ("SoC temperature", "pass", "51.1 °C", ""),
            ("root device", "pass", "/dev/mmcblk0p2", ""),
        ],
    ),
}


@pytest.mark.parametrize("case", PI_CASES)
def test_pi(case: str) -> None:
    role, on_path, files, commands, rows = PI_CASES[case]
    host = ScriptedHost(files, commands, on_path)
    check_gives(verify.check_pi, host, rows, role)


# ----------------------------------------------------------------------------- the double


def test_scripted_host_refuses_what_the_case_did_not_script() -> None:
    host = ScriptedHost({"/proc/swaps": None}, {"true": Out(0)})
    with pytest.raises(AssertionError, match="unscripted file: /proc/cgroups"):
        host.file("/proc/cgroups")
    with pytest.raises(AssertionError, match="unscripted command: false"):
        host.run("false")
    with pytest.raises(AssertionError, match="unscripted lookup"):
        host.exists("vcgencmd")
    with pytest.raises(AssertionError, match="/proc/swaps, which is absent"):
        _ = host.file("/proc/swaps").content_string
    with pytest.raises(AttributeError):
        _ = host.service  # verify's checks under test never use it; the double lacks it
    assert host.unread() == ["true"]
