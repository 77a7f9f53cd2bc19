"""What verify checks against and what it reports: constants, targets, results."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

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
    # The host's Python 3, which runs verify's one read (pi_k8s.verify.batched).
    python: str = "python3"


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


def outcome(
    t: HostTarget, name: str, ok: bool, detail: str, hint: str, warn: bool = False
) -> CheckResult:
    """A check's result for host ``t``: pass, else fail (or warn); the hint only when not ok."""
    status = PASS if ok else (WARN if warn else FAIL)
    return CheckResult(t.name, name, status, detail, "" if ok else hint)
