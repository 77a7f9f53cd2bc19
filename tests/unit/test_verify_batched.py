"""verify's one read per host: the reader (pi_k8s/verify/reader.py) and BatchedHost.

The reader runs for real here, on this machine's files (a temporary directory tree), as it
runs on a host. BatchedHost is driven two ways: over testinfra's real ``local://`` host
(the reader runs locally, and whatever it does not answer goes to testinfra), and over
``CannedHost``, which answers the reader's command with a prepared JSON for the states
this machine cannot have (systemd units, listening ports, a healthy k3s host).
"""

from __future__ import annotations

import base64
import hashlib
import json
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import testinfra

from pi_k8s import verify
from pi_k8s.verify import batched
from pi_k8s.verify.batched import SECRET_PATHS, BatchedHost, Reads, host_reads, listening_tcp
from tests.state_tree import make_state_tree

TOKEN = "K10c0ffee::server:s3cr3t-cluster-token"


def run_reader(reads: Reads) -> dict[str, Any]:
    """The reader as BatchedHost runs it (``python3 -c BOOT script spec``), locally."""
    proc = subprocess.run(
        [sys.executable, "-c", *batched.reader_args(reads)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    answer: dict[str, Any] = json.loads(proc.stdout)
    return answer


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    root = make_state_tree(tmp_path / "tree")
    (root / "big").write_text("x" * (70 * 1024))
    (root / "latin1").write_bytes(b"caf\xe9\n")
    return root


# ----------------------------------------------------------------------------- the reader


def test_reader_stats_reads_hashes_and_runs(tree: Path) -> None:
    p = {name: str(tree / name) for name in ("conf", "dir", "link", "model", "missing")}
    answer = run_reader(
        Reads(
            stat=(p["dir"], p["missing"]),
            read=(p["conf"], p["link"], p["model"], p["dir"], p["missing"]),
            sha256=(p["conf"], p["missing"]),
            commands=("echo hi", "printf oops >&2; exit 3", "true", "echo hi"),
        )
    )
    files = answer["files"]
    assert files[p["conf"]] == {
        "exists": True,
        "is_dir": False,
        "mode": 0o640,
        "content": "a = 1\n",
        "sha256": hashlib.sha256(b"a = 1\n").hexdigest(),
    }
    # A link is its target, as `test -e`, `stat -L` and `cat` see it.
    assert files[p["link"]] == {
        "exists": True,
        "is_dir": False,
        "mode": 0o640,
        "content": "a = 1\n",
    }
    assert files[p["model"]]["content"] == "Raspberry Pi 4 Model B Rev 1.4\0"
    # A directory is described, never read; a missing path is only "does not exist".
    assert files[p["dir"]] == {"exists": True, "is_dir": True, "mode": 0o750}
    assert files[p["missing"]] == {"exists": False, "is_dir": False, "mode": None}
    assert answer["commands"] == {
        "echo hi": {"rc": 0, "stdout": "hi\n", "stderr": ""},
        "printf oops >&2; exit 3": {"rc": 3, "stdout": "", "stderr": "oops"},
        "true": {"rc": 0, "stdout": "", "stderr": ""},
    }


def test_reader_says_why_it_did_not_read(tree: Path) -> None:
    big, latin1 = str(tree / "big"), str(tree / "latin1")
    files = run_reader(Reads(read=(big, latin1)))["files"]
    assert files[big]["content_error"] == "larger than 65536 bytes"
    assert "content" not in files[big]
    assert files[latin1]["content_error"] == "not UTF-8"


def test_reader_output_never_holds_a_stat_only_file(tree: Path) -> None:
    (tree / "config.yaml").write_text(f"token: {TOKEN}\n")
    answer = json.dumps(run_reader(Reads(stat=(str(tree / "config.yaml"),))))
    assert TOKEN not in answer
    assert '"mode": 420' in answer or '"mode": 436' in answer  # 0644 / 0664 by umask


# ----------------------------------------------------------------------------- secrets


@pytest.mark.parametrize(
    "target",
    [
        verify.HostTarget("rpi-1", "server"),
        verify.HostTarget("rpi-1", "server", ha=True),
        verify.HostTarget("rpi-2", "agent"),
    ],
    ids=["server", "ha-server", "agent"],
)
def test_the_token_files_mode_is_read_never_their_contents(
    tmp_path: Path, target: verify.HostTarget
) -> None:
    """verify's real reads, moved under a temporary root where every file that can hold
    the cluster token holds one: the reader's whole answer must not contain it."""
    root = tmp_path / "host"
    for path in SECRET_PATHS:
        file = root / path.lstrip("/")
        file.parent.mkdir(parents=True, exist_ok=True)
        file.write_text(f"K3S_TOKEN={TOKEN}\ntoken: {TOKEN}\n")
        file.chmod(0o600)
    reads = host_reads(target, vip="192.168.1.50")
    assert not SECRET_PATHS & set(reads.read + reads.sha256)
    moved = Reads(
        stat=tuple(str(root) + p for p in reads.stat),
        read=tuple(str(root) + p for p in reads.read),
        sha256=tuple(str(root) + p for p in reads.sha256),
    )
    answer = run_reader(moved)
    assert TOKEN not in json.dumps(answer)
    assert "s3cr3t" not in json.dumps(answer)
    unit = "k3s" if target.role == "server" else "k3s-agent"
    for path in (verify.K3S_CONFIG, f"/etc/systemd/system/{unit}.service.env"):
        assert answer["files"][str(root) + path] == {"exists": True, "is_dir": False, "mode": 0o600}


@pytest.mark.parametrize("field_name", ["read", "sha256"])
def test_reads_refuse_to_read_a_token_file(field_name: str) -> None:
    with pytest.raises(ValueError, match="never read these"):
        Reads(**{field_name: (verify.K3S_CONFIG,)})


# ----------------------------------------------------------------------------- over local://


class Counting:
    """testinfra's real ``local://`` host, counting the calls that reach it."""

    def __init__(self) -> None:
        self.host = testinfra.get_host("local://")
        self.calls: list[str] = []

    def run(self, command: str, *args: str, **kwargs: Any) -> Any:
        self.calls.append("run " + (command if not args else args[0]))
        return self.host.run(command, *args, **kwargs)

    def file(self, path: str) -> Any:
        self.calls.append(f"file {path}")
        return self.host.file(path)

    def exists(self, command: str) -> bool:
        self.calls.append(f"exists {command}")
        return bool(self.host.exists(command))


def test_batched_host_serves_what_it_read_in_one_command(tree: Path) -> None:
    real = Counting()
    conf, dir_, missing = str(tree / "conf"), str(tree / "dir"), str(tree / "missing")
    reads = Reads(
        stat=(dir_, missing),
        read=(conf,),
        sha256=(conf,),
        commands=("echo hi", "command -v sh", "command -v no-such-command-here"),
    )
    host = BatchedHost(real, reads, python=sys.executable)
    assert host.run("echo hi").rc == 0
    assert host.run("echo hi").stdout == "hi\n"
    f = host.file(conf)
    assert (f.exists, f.mode, f.content_string) == (True, 0o640, "a = 1\n")
    assert f.sha256sum == hashlib.sha256(b"a = 1\n").hexdigest()
    assert (host.file(dir_).exists, host.file(dir_).mode) == (True, 0o750)
    assert host.file(missing).exists is False
    assert host.exists("sh") is True
    assert host.exists("no-such-command-here") is False
    assert real.calls == [f"run {sys.executable}"], "one command, nothing else"
    assert host.batch_error == ""


def test_batched_host_asks_testinfra_for_what_it_did_not_read(tree: Path) -> None:
    real = Counting()
    conf, dir_, missing = str(tree / "conf"), str(tree / "dir"), str(tree / "missing")
    big = str(tree / "big")
    host = BatchedHost(real, Reads(stat=(dir_, missing), read=(big,)), python=sys.executable)
    # A path it never read, a file it could not read, a command it did not run:
    assert host.file(conf).content_string == "a = 1\n"
    assert host.file(big).content_string == "x" * (70 * 1024)
    assert host.run("echo there").stdout == "there\n"
    assert host.exists("sh") is True
    # ... and what testinfra itself raises, it raises: the mode of a missing file, the
    # text of a directory.
    with pytest.raises(AssertionError):
        host.file(missing).mode  # noqa: B018
    with pytest.raises(RuntimeError):
        host.file(dir_).content_string  # noqa: B018
    # Attributes BatchedHost does not serve come from testinfra's File.
    assert host.file(conf).size == 6
    assert real.calls == [
        f"run {sys.executable}",
        f"file {conf}",
        f"file {big}",
        "run echo there",
        "exists sh",
        f"file {missing}",
        f"file {dir_}",
        f"file {conf}",
    ]


def test_without_a_python_everything_goes_to_testinfra(tree: Path) -> None:
    real = Counting()
    conf = str(tree / "conf")
    host = BatchedHost(real, Reads(read=(conf,), commands=("echo hi",)), python="/nonexistent/py")
    assert host.run("echo hi").stdout == "hi\n"
    assert host.file(conf).content_string == "a = 1\n"
    assert host.batch_error.startswith("rc=127")
    assert real.calls == ["run /nonexistent/py", "run echo hi", f"file {conf}"]


def test_an_ssh_failure_is_raised_at_the_first_call() -> None:
    class Unreachable:
        def run(self, *args: str) -> Any:
            raise RuntimeError("ssh: connect to host 10.0.0.9 port 22: No route to host")

    host = BatchedHost(Unreachable(), Reads(commands=("true",)))
    with pytest.raises(RuntimeError, match="No route to host"):
        host.run("true")
    results = verify.host_checks(
        host, verify.HostTarget("rpi-9", "agent"), version=None, min_free_mb=1
    )
    assert [(r.name, r.status, r.detail) for r in results] == [
        ("reachable", "fail", "ssh: connect to host 10.0.0.9 port 22: No route to host")
    ]


# ----------------------------------------------------------------------------- canned answers


@dataclass(frozen=True)
class Out:
    rc: int
    stdout: str = ""
    stderr: str = ""


@dataclass
class CannedHost:
    """Stands in for a remote testinfra host: answers the reader's command with ``state``
    (what the reader would print there) and records every other call, which fails the
    test unless the test expects it (``fallbacks``)."""

    state: dict[str, Any]
    fallbacks: dict[str, Any] = field(default_factory=dict)
    calls: list[str] = field(default_factory=list)
    reads: Reads | None = None

    def run(self, command: str, *args: str) -> Out:
        if command == "%s -c %s %s %s":
            spec = json.loads(base64.b64decode(args[3]))
            self.reads = Reads(**{k: tuple(v) for k, v in spec.items()})
            return Out(0, json.dumps(self.state))
        return self._fallback(f"run {command}")

    def _fallback(self, call: str) -> Any:
        self.calls.append(call)
        if call not in self.fallbacks:
            raise AssertionError(f"not served by the read: {call}")
        return self.fallbacks[call]

    def service(self, name: str) -> Any:
        return self._fallback(f"service {name}")

    def socket(self, spec: str) -> Any:
        return self._fallback(f"socket {spec}")

    def file(self, path: str) -> Any:
        return self._fallback(f"file {path}")

    def exists(self, command: str) -> Any:
        return self._fallback(f"exists {command}")


SS = """State  Recv-Q Send-Q Local Address:Port  Peer Address:Port Process
LISTEN 0      4096       127.0.0.1:10248      0.0.0.0:*
LISTEN 0      4096         0.0.0.0:10250      0.0.0.0:*
LISTEN 0      4096               *:6443             *:*
LISTEN 0      4096            [::]:2379          [::]:*
LISTEN 0      128    192.168.1.10:2380       0.0.0.0:*
"""


def test_listening_tcp_reads_ss_as_testinfra_does() -> None:
    assert listening_tcp(SS) == {
        ("127.0.0.1", 10248),
        ("0.0.0.0", 10250),
        ("0.0.0.0", 6443),
        ("::", 6443),
        ("::", 2379),
        ("192.168.1.10", 2380),
    }


@pytest.mark.parametrize(
    ("spec", "listening"),
    [
        ("tcp://0.0.0.0:10250", True),
        ("tcp://:::10250", False),
        ("tcp://0.0.0.0:6443", True),
        ("tcp://:::6443", True),
        ("tcp://0.0.0.0:2379", True),  # every IPv6 address: IPv4 too, as testinfra says
        ("tcp://0.0.0.0:2380", False),  # one address only
        ("tcp://192.168.1.10:2380", True),
        ("tcp://0.0.0.0:10248", False),
        ("tcp://0.0.0.0:22", False),
    ],
)
def test_sockets_are_decided_from_ss(spec: str, listening: bool) -> None:
    canned = CannedHost(
        {"commands": {batched.LISTENING_TCP: {"rc": 0, "stdout": SS, "stderr": ""}}}
    )
    assert BatchedHost(canned, Reads()).socket(spec).is_listening is listening
    assert canned.calls == []


def test_sockets_without_ss_go_to_testinfra() -> None:
    missing = {"rc": 127, "stdout": "", "stderr": "ss: not found"}

    @dataclass
    class Socket:
        is_listening: bool

    canned = CannedHost(
        {"commands": {batched.LISTENING_TCP: missing}},
        fallbacks={
            "socket tcp://0.0.0.0:10250": Socket(True),
            "socket udp://0.0.0.0:53": Socket(False),
        },
    )
    host = BatchedHost(canned, Reads())
    assert host.socket("tcp://0.0.0.0:10250").is_listening is True
    canned.state["commands"][batched.LISTENING_TCP] = {"rc": 0, "stdout": SS, "stderr": ""}
    assert host.socket("udp://0.0.0.0:53").is_listening is False  # only TCP is read
    assert canned.calls == ["socket tcp://0.0.0.0:10250", "socket udp://0.0.0.0:53"]


def systemd_state(
    enabled: tuple[int, str], active: tuple[int, str], unit: str = "k3s"
) -> dict[str, Any]:
    return {
        "files": {batched.SYSTEMD_RUNTIME: {"exists": True, "is_dir": True, "mode": 0o755}},
        "commands": {
            f"systemctl is-enabled {unit}": {"rc": enabled[0], "stdout": enabled[1], "stderr": ""},
            f"systemctl is-active {unit}": {"rc": active[0], "stdout": active[1], "stderr": ""},
        },
    }


@pytest.mark.parametrize(
    ("enabled", "active", "want"),
    [
        ((0, "enabled\n"), (0, "active\n"), (True, True)),
        ((1, "disabled\n"), (3, "inactive\n"), (False, False)),
        ((0, "static\n"), (3, "failed\n"), (True, False)),
        ((0, "enabled\n"), (4, "inactive\n"), (True, False)),
    ],
)
def test_services_are_decided_as_testinfra_decides(
    enabled: tuple[int, str], active: tuple[int, str], want: tuple[bool, bool]
) -> None:
    canned = CannedHost(systemd_state(enabled, active))
    svc = BatchedHost(canned, Reads()).service("k3s")
    assert (svc.is_enabled, svc.is_running) == want
    assert canned.calls == []


def test_services_testinfra_would_look_into_further_go_to_it() -> None:
    """A unit systemd does not know (is-enabled rc 1, not "disabled"; is-active rc 1: no
    bus), and any host without /run/systemd/system: testinfra's Service decides."""

    @dataclass
    class Service:
        is_enabled: bool
        is_running: bool

    canned = CannedHost(
        systemd_state((1, ""), (1, "")), fallbacks={"service k3s": Service(False, True)}
    )
    svc = BatchedHost(canned, Reads()).service("k3s")
    assert (svc.is_enabled, svc.is_running) == (False, True)
    assert canned.calls == ["service k3s", "service k3s"]

    no_systemd = systemd_state((0, "enabled\n"), (0, "active\n"))
    no_systemd["files"][batched.SYSTEMD_RUNTIME] = {"exists": False, "is_dir": False, "mode": None}
    canned = CannedHost(no_systemd, fallbacks={"service k3s": Service(True, False)})
    svc = BatchedHost(canned, Reads()).service("k3s")
    assert (svc.is_enabled, svc.is_running) == (True, False)


# ----------------------------------------------------------------------------- a whole host

SHA = hashlib.sha256(b"k3s").hexdigest()
HEALTHY_FILES = {
    "/sys/fs/cgroup/cgroup.controllers": "cpuset cpu io memory pids\n",
    "/proc/swaps": "Filename\tType\tSize\tUsed\tPriority\n",
    "/proc/sys/net/ipv4/ip_forward": "1\n",
    "/proc/sys/net/bridge/bridge-nf-call-iptables": "1\n",
    "/proc/sys/net/bridge/bridge-nf-call-ip6tables": "1\n",
    verify.K3S_SHA256_RECORD: f"{SHA}  /usr/local/bin/k3s\n",
    "/sys/class/thermal/thermal_zone0/temp": "48000\n",
}
ABSENT = {"/boot/cmdline.txt", "/proc/cgroups"}


def healthy(reads: Reads, role: str, vip: str | None) -> dict[str, Any]:
    """What the reader prints on a healthy Raspberry Pi running k3s."""
    files: dict[str, Any] = {}
    for path in reads.stat + reads.read + reads.sha256:
        exists = path not in ABSENT
        entry = {"exists": exists, "is_dir": path.endswith("/"), "mode": 0o600 if exists else None}
        if path in reads.read and exists:
            entry["content"] = HEALTHY_FILES.get(path, "console=serial0 cgroup_enable=memory\n")
        if path in reads.sha256:
            entry["sha256"] = SHA
        files[path] = entry
    unit = "k3s" if role == "server" else "k3s-agent"
    ports = "".join(f"LISTEN 0 4096 *:{p} *:*\n" for p in (6443, 10250, 2379, 2380))
    outputs = {
        "timedatectl show -p NTPSynchronized --value": "yes\n",
        "/usr/local/bin/k3s --version": "k3s version v1.31.4+k3s1 (a1b2c3d4)\n",
        "df -Pm /var/lib/rancher 2>/dev/null || df -Pm /var/lib": (
            "Filesystem 1048576-blocks Used Available Capacity Mounted on\n"
            "/dev/sda2 100000 20000 80000 20% /\n"
        ),
        "command -v vcgencmd": "/usr/bin/vcgencmd\n",
        "vcgencmd get_throttled": "throttled=0x0\n",
        "findmnt -no SOURCE /": "/dev/sda2\n",
        f"systemctl is-enabled {unit}": "enabled\n",
        f"systemctl is-active {unit}": "active\n",
        batched.LISTENING_TCP: "State Recv-Q Send-Q Local Peer\n" + ports,
    }
    if vip:
        outputs[f"curl --silent --insecure --max-time 3 https://{vip}:6443/ping"] = "pong"
        outputs["ip -o -4 addr show"] = f"2: eth0    inet {vip}/32 scope global eth0\n"
    commands = {c: {"rc": 0, "stdout": outputs.get(c, ""), "stderr": ""} for c in reads.commands}
    return {"files": files, "commands": commands}


@pytest.mark.parametrize(
    "target",
    [
        verify.HostTarget("rpi-1", "server", is_pi=None),
        verify.HostTarget("rpi-1", "server", is_pi=True, ha=True),
        verify.HostTarget("rpi-2", "agent", is_pi=None),
    ],
    ids=["server", "ha-server", "agent"],
)
@pytest.mark.parametrize("vip", [None, "192.168.1.50"])
def test_host_reads_cover_every_read_of_a_healthy_host(
    target: verify.HostTarget, vip: str | None
) -> None:
    """host_checks and vip_host_checks over a healthy Pi's answer: all pass, and no call
    goes past the one read (CannedHost fails any that does). A check that starts reading
    something host_reads does not list fails here, instead of silently costing an SSH
    connection per read."""
    reads = host_reads(target, vip)
    canned = CannedHost(healthy(reads, target.role, vip))
    host = BatchedHost(canned, reads)
    results = verify.host_checks(host, target, version="v1.31.4+k3s1", min_free_mb=1024)
    if vip:
        vip_results, held = verify.vip_host_checks(host, target, vip)
        results += vip_results
        assert held is (target.role == "server")
    bad = [r for r in results if r.status != "pass"]
    assert bad == [], bad
    names = {r.name for r in results}
    assert {"k3s checksum", "power and throttling", "SoC temperature", "root device"} <= names
    assert canned.calls == []
    assert canned.reads == reads


def test_a_batched_failure_reads_as_testinfra_s_would() -> None:
    """The same broken host through the read: the env file world-readable, the agent
    stopped, port 10250 closed, the binary changed since install."""
    target = verify.HostTarget("rpi-2", "agent", is_pi=False)
    reads = host_reads(target)
    state = healthy(reads, "agent", None)
    state["files"]["/etc/systemd/system/k3s-agent.service.env"]["mode"] = 0o644
    state["files"][verify.K3S_BINARY]["sha256"] = "0" * 64
    state["commands"]["systemctl is-active k3s-agent"] = {
        "rc": 3,
        "stdout": "inactive\n",
        "stderr": "",
    }
    state["commands"][batched.LISTENING_TCP]["stdout"] = "State Recv-Q Send-Q Local Peer\n"
    canned = CannedHost(state)
    results = verify.host_checks(BatchedHost(canned, reads), target, version=None, min_free_mb=1)
    failed = {(r.name, r.detail) for r in results if r.status == "fail"}
    assert failed == {
        ("mode /etc/systemd/system/k3s-agent.service.env", "0644"),
        ("k3s-agent service", "enabled=True running=False"),
        ("port 10250", "not listening"),
        ("k3s checksum", f"{'0' * 16}… on disk, {SHA[:16]}… verified at install"),
    }
    assert canned.calls == []


def test_hosts_python_comes_from_the_inventory() -> None:
    from pi_k8s.verify.targets import python_of

    assert python_of({}) == "python3"
    assert python_of({"ansible_python_interpreter": "auto_silent"}) == "python3"
    assert python_of({"ansible_python_interpreter": "{{ discovered }}"}) == "python3"
    assert python_of({"ansible_python_interpreter": "/usr/bin/python3.11"}) == "/usr/bin/python3.11"
