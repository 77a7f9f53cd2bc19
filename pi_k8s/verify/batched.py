"""verify's host checks served from one read per host instead of one SSH command per call.

Each testinfra call a check makes (``host.file(p).exists``, ``.content_string``, ``.mode``,
``.sha256sum``, ``host.run(cmd)``, ``host.exists(cmd)``, ``host.service(unit)``,
``host.socket(url).is_listening``) is an ``ssh`` process and a sudo on the host, and
testinfra's ssh backend gets ``ControlMaster=auto`` from ansible.cfg but no ControlPath,
so every one of them is a new SSH connection: about 35 per host. ``host_reads(t)`` lists
what the checks read; ``BatchedHost`` runs pi_k8s.verify.reader with that list as ONE
command through the real testinfra host (so under the same sudo and SSH settings) and
answers those calls from its JSON. Whatever that read does not cover (a path or command
not in the list, a file it could not read, a systemd answer testinfra would look at
further, a host without Python 3) goes to the real testinfra host, which asks the host
as before. The check functions are unchanged: they take either.

The files that can hold the cluster token (SECRET_PATHS) are only ever stat-ed: ``Reads``
refuses them in its ``read`` and ``sha256`` lists, so their contents never leave the host
in this read.
"""

from __future__ import annotations

import base64
import json
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pi_k8s.verify import hosts as h
from pi_k8s.verify import vip as v
from pi_k8s.verify.model import (
    K3S_BINARY,
    K3S_CONFIG,
    K3S_SHA256_RECORD,
    REQUIRED_MODULES,
    REQUIRED_SYSCTLS,
    HostTarget,
)

READER = Path(__file__).with_name("reader.py")
# Runs the reader sent as base64 (argv[1]); the reader then reads its own input (argv[1]).
BOOT = (
    "import base64,sys;"
    "exec(compile(base64.b64decode(sys.argv.pop(1)),'pi-k8s-verify-reader','exec'))"
)
# testinfra takes systemd's word for a unit's state when this is a directory.
SYSTEMD_RUNTIME = "/run/systemd/system/"
LISTENING_TCP = "ss --numeric --listening --tcp"
SECRET_PATHS = frozenset(
    {
        K3S_CONFIG,
        "/etc/systemd/system/k3s.service.env",
        "/etc/systemd/system/k3s-agent.service.env",
    }
)


@dataclass(frozen=True)
class Reads:
    """What one host's read covers: paths to stat, to read, to hash; commands to run."""

    stat: tuple[str, ...] = ()
    read: tuple[str, ...] = ()
    sha256: tuple[str, ...] = ()
    commands: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        secret = SECRET_PATHS.intersection(self.read + self.sha256)
        if secret:
            raise ValueError(f"never read these, only stat them: {', '.join(sorted(secret))}")

    def to_json(self) -> str:
        return json.dumps(
            {
                "stat": list(self.stat),
                "read": list(self.read),
                "sha256": list(self.sha256),
                "commands": list(self.commands),
            }
        )


def host_reads(t: HostTarget, vip: str | None = None) -> Reads:
    """Everything host_checks (and vip_host_checks with ``vip``) reads on host ``t``."""
    unit = "k3s" if t.role == "server" else "k3s-agent"
    read = (
        "/sys/fs/cgroup/cgroup.controllers",
        "/proc/cgroups",
        "/boot/firmware/cmdline.txt",
        "/boot/cmdline.txt",
        "/proc/swaps",
        "/proc/filesystems",
        *("/proc/sys/" + key.replace(".", "/") for key in REQUIRED_SYSCTLS),
        K3S_SHA256_RECORD,
        "/sys/class/thermal/thermal_zone0/temp",
    )
    stat = (
        *(f"/sys/module/{mod}" for mod in REQUIRED_MODULES),
        "/proc/sys/net/bridge",
        K3S_BINARY,
        K3S_CONFIG,
        f"/etc/systemd/system/{unit}.service.env",
        "/sys/firmware/devicetree/base/model",
        SYSTEMD_RUNTIME,
    )
    commands = [
        h.CONNECT,
        h.TIME_SYNCED,
        h.CONTAINER,
        h.TIMESYNCD_ENABLED,
        h.K3S_VERSION,
        h.DISK_FREE,
        "command -v vcgencmd",
        h.THROTTLED,
        h.ROOT_SOURCE,
        f"systemctl is-enabled {unit}",
        f"systemctl is-active {unit}",
        LISTENING_TCP,
    ]
    if vip:
        commands.append(v.ping_command(vip))
        if t.role == "server":
            commands.append(v.ADDRESSES)
    return Reads(stat=stat, read=read, sha256=(K3S_BINARY,), commands=tuple(commands))


def reader_args(reads: Reads) -> tuple[str, str, str]:
    """The arguments after ``python3 -c``: the boot line, the reader, the reads (base64)."""
    script = base64.b64encode(READER.read_bytes()).decode("ascii")
    spec = base64.b64encode(reads.to_json().encode("utf-8")).decode("ascii")
    return BOOT, script, spec


@dataclass(frozen=True)
class Result:
    """A command's outcome as the reader saw it: what testinfra's CommandResult gives the
    checks (``rc``, ``stdout``, ``stderr``)."""

    command: str
    rc: int
    stdout: str
    stderr: str


class BatchedHost:
    """A testinfra host whose reads in ``reads`` come from one command on the host.

    ``host`` is the real testinfra host (its sudo and SSH settings apply); ``python`` the
    host's Python 3. The read runs at the first call; if SSH fails, that call raises
    what testinfra raised (so host_checks reports the host unreachable) and the next call
    tries again. Once it has run, it is not run again; if the reader itself failed (no
    Python, a bad answer), every call goes to ``host`` and ``batch_error`` says why.
    """

    def __init__(self, host: Any, reads: Reads, *, python: str = "python3") -> None:
        self._host = host
        self._reads = reads
        self._python = python
        self._lock = threading.Lock()
        self._state: dict[str, Any] | None = None
        self.batch_error = ""  # why the read was not used, when it was not

    def _load(self) -> dict[str, Any]:
        with self._lock:
            if self._state is None:
                out = self._host.run("%s -c %s %s %s", self._python, *reader_args(self._reads))
                self._state = {}
                try:
                    state = json.loads(out.stdout) if out.rc == 0 else None
                except ValueError:
                    state = None
                if isinstance(state, dict):
                    self._state = state
                else:
                    text = (out.stderr or out.stdout).strip().splitlines()
                    self.batch_error = f"rc={out.rc}" + (f": {text[-1][:200]}" if text else "")
            return self._state

    def _file_entry(self, path: str) -> dict[str, Any] | None:
        entry = self._load().get("files", {}).get(path)
        return entry if isinstance(entry, dict) else None

    def _command(self, command: str) -> dict[str, Any] | None:
        entry = self._load().get("commands", {}).get(command)
        return entry if isinstance(entry, dict) else None

    def run(self, command: str, *args: str, **kwargs: Any) -> Any:
        if not args and not kwargs:
            entry = self._command(command)
            if entry is not None:
                return Result(command, int(entry["rc"]), entry["stdout"], entry["stderr"])
        return self._host.run(command, *args, **kwargs)

    def exists(self, command: str) -> bool:
        entry = self._command(f"command -v {command}")
        if entry is None:
            return bool(self._host.exists(command))
        return int(entry["rc"]) == 0

    def file(self, path: str) -> BatchedFile:
        return BatchedFile(self, path, self._file_entry(path))

    def service(self, name: str) -> BatchedService:
        return BatchedService(self, name)

    def socket(self, spec: str) -> BatchedSocket:
        return BatchedSocket(self, spec)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._host, name)


class BatchedFile:
    """testinfra's ``host.file(path)``: ``exists``, ``mode``, ``content_string`` and
    ``sha256sum`` from the read where it has them; the rest, and what it could not read,
    from testinfra's File."""

    def __init__(self, batched: BatchedHost, path: str, entry: dict[str, Any] | None) -> None:
        self._batched = batched
        self.path = path
        self._entry = entry

    def _real(self) -> Any:
        return self._batched._host.file(self.path)

    def _from_read(self, key: str, attribute: str) -> Any:
        if self._entry is not None and self._entry.get(key) is not None:
            return self._entry[key]
        return getattr(self._real(), attribute)

    @property
    def exists(self) -> bool:
        return bool(self._from_read("exists", "exists"))

    @property
    def mode(self) -> int:
        return int(self._from_read("mode", "mode"))

    @property
    def content_string(self) -> str:
        return str(self._from_read("content", "content_string"))

    @property
    def sha256sum(self) -> str:
        return str(self._from_read("sha256", "sha256sum"))

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real(), name)


class BatchedService:
    """testinfra's ``host.service(name)`` on a systemd host: ``is_enabled`` and
    ``is_running`` from ``systemctl is-enabled``/``is-active`` in the read, decided as
    testinfra's SystemdService decides; the answers it would look into further (SysV
    fallbacks, errors) and non-systemd hosts go to testinfra's Service."""

    def __init__(self, batched: BatchedHost, name: str) -> None:
        self._batched = batched
        self.name = name

    def _real(self) -> Any:
        return self._batched._host.service(self.name)

    def _systemctl(self, verb: str) -> dict[str, Any] | None:
        runtime = self._batched._file_entry(SYSTEMD_RUNTIME)
        if not (runtime and runtime.get("is_dir")):
            return None
        return self._batched._command(f"systemctl {verb} {self.name}")

    @property
    def is_running(self) -> bool:
        out = self._systemctl("is-active")
        if out is not None and int(out["rc"]) in (0, 3, 4):
            return int(out["rc"]) == 0
        return bool(self._real().is_running)

    @property
    def is_enabled(self) -> bool:
        out = self._systemctl("is-enabled")
        if out is not None and int(out["rc"]) == 0:
            return True
        if out is not None and int(out["rc"]) == 1 and out["stdout"].strip() == "disabled":
            return False
        return bool(self._real().is_enabled)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real(), name)


def listening_tcp(ss_output: str) -> set[tuple[str, int]]:
    """(address, port) of each listening TCP socket in ``ss --numeric --listening --tcp``'s
    output, read as testinfra's LinuxSocketSS reads it (``*`` is both ``0.0.0.0`` and
    ``::``; ``[::]`` is ``::``)."""
    found: set[tuple[str, int]] = set()
    for line in ss_output.splitlines()[1:]:
        fields = line.split()
        if len(fields) < 5 or fields[0] != "LISTEN":
            continue
        address, _, port = fields[3].rpartition(":")
        if not port.isdigit():
            continue
        if address.startswith("[") and address.endswith("]"):
            address = address[1:-1]
        if address == "*":
            found |= {("::", int(port)), ("0.0.0.0", int(port))}
        else:
            found.add((address, int(port)))
    return found


class BatchedSocket:
    """testinfra's ``host.socket(spec)``: ``is_listening`` for ``tcp://ADDRESS:PORT`` from
    ``ss`` in the read, as testinfra decides it; other specs, or no ``ss``, go to
    testinfra's Socket."""

    def __init__(self, batched: BatchedHost, spec: str) -> None:
        self._batched = batched
        self.spec = spec

    def _real(self) -> Any:
        return self._batched._host.socket(self.spec)

    @property
    def is_listening(self) -> bool:
        from testinfra.modules.socket import parse_socketspec

        protocol, address, port = parse_socketspec(self.spec)
        out = self._batched._command(LISTENING_TCP)
        if protocol != "tcp" or address is None or out is None or int(out["rc"]) != 0:
            return bool(self._real().is_listening)
        sockets = listening_tcp(out["stdout"])
        # testinfra's answer: listening on every IPv6 address, or on the address asked.
        return ("::", port) in sockets or (address, port) in sockets

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real(), name)
