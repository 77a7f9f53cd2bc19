"""`pi-k8s verify` on a bootstrapped two-host testbed ("verify", 10.213.19.0/24).

rpi-1 is the server and rpi-2 the agent. The cluster runs the k3s stand-in
(tests/standin/), installed by `pi-k8s bootstrap` through the airgap path, because real
k3s cannot be downloaded here.

What verify reads here, and whose work it shows:
- the hosts' own: systemd units, ports, file modes, the k3s binary and its checksum, the
  node list the server reports, SSH through testinfra's ansible backend, and the net.*
  sysctls, which live in each container's own network namespace (the fixture turns them
  off before bootstrap, so they pass only because pi_prereq set them);
- the CI machine's kernel, shared by every container: the cgroup controllers, swap, the
  loaded modules and the clock. verify reads them for real, but they pass because of the
  machine, not the role. The branches a Pi would take (cgroup v1/v2 with memory off, swap
  on, modules built in or missing, clock not synchronised) are driven in
  tests/unit/test_verify_host_checks.py; the test VMs (make test-vm) show the role turning
  swap off and the memory cgroup on with a real reboot.

After the all-pass tests, each test breaks one thing on purpose, asserts the exact
failing check and its hint, and restores the host in a ``finally``. The last test proves
the host is whole again. Two breakages are simulated inside the container because the
containers share the CI machine's kernel (their docstrings say how and why).
"""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from xml.etree import ElementTree as ET

import pytest
import yaml
from typer.testing import CliRunner

from pi_k8s import testbed as tb
from pi_k8s.cli import app
from tests.clock_read import clock_read_command
from tests.conftest import (
    HIDE_MEMORY,
    K3S_VERSION,
    REAL_K3S,
    make_testbed,
    run_bootstrap,
    turn_k3s_sysctls_off,
)
from tests.testbed_inventory import cluster_inventory

pytestmark = pytest.mark.testbed

VERSION = K3S_VERSION
# The stand-in runs no pods: its verify skips the workloads. Real k3s runs them and verify
# checks them (kube-system pods, the DNS smoke pod).
SKIP_WORKLOADS = [] if REAL_K3S else ["--skip-workloads"]
SUBNET = "10.213.19.0/24"

AGENT_ENV = "/etc/systemd/system/k3s-agent.service.env"


# What verify must report, and pass, on each host of a healthy cluster.
COMMON_CHECKS = {
    "cgroup controllers",
    "swap off",
    "module br_netfilter",
    "module overlay",
    "sysctl net.ipv4.ip_forward",
    "sysctl net.bridge.bridge-nf-call-iptables",
    "sysctl net.bridge.bridge-nf-call-ip6tables",
    "time synchronised",
    "port 10250",
    "mode /etc/rancher/k3s/config.yaml",
    "k3s version",
    "node Ready",
}
EXPECTED = {
    "rpi-1": COMMON_CHECKS
    | {"k3s service", "port 6443", "mode /etc/systemd/system/k3s.service.env"},
    "rpi-2": COMMON_CHECKS | {"k3s-agent service", f"mode {AGENT_ENV}"},
}


# ----------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def bed(_private_state_dir: Path) -> Iterator[tb.Testbed]:
    yield from make_testbed("verify", SUBNET, nodes=2)


@pytest.fixture(scope="module")
def inventory(bed: tb.Testbed, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """rpi-1 as `server`, rpi-2 as `agent`, SSH settings from the testbed's hosts.json."""
    # Containers cannot reboot; harmless where they already pick the marker method.
    data = cluster_inventory(
        bed,
        ["rpi-1"],
        ["rpi-2"],
        cluster_name="verify",
        cluster_k3s_version=VERSION,
        pi_prereq_reboot_method="marker",
    )
    path = tmp_path_factory.mktemp("verify-inv") / "hosts.yml"
    path.write_text(yaml.safe_dump(data))
    return path


@pytest.fixture(scope="module")
def cluster(bed: tb.Testbed, inventory: Path, airgap: Path, controller_home: Path) -> Path:
    """Bootstrap the cluster with the stand-in; HOME is a tmp dir (~/.kube is written).

    The k3s sysctls start at 0, so their checks pass only because pi_prereq set them.
    """
    turn_k3s_sysctls_off(bed)
    code, output = run_bootstrap(inventory, airgap)
    assert code == 0, output
    assert (controller_home / ".kube").is_dir(), output
    return inventory


# ----------------------------------------------------------------------------- helpers


def sh(bed: tb.Testbed, host: str, command: str) -> str:
    """Run a shell command in the host's container; it must succeed."""
    container = next(h.container for h in bed.hosts if h.name == host)
    proc = subprocess.run(
        ["podman", "exec", container, "sh", "-c", command],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, f"{host}: {command}: {proc.stderr}"
    return proc.stdout


def run_verify(inventory: Path, *args: str) -> tuple[int, list[dict[str, str]], str]:
    """`pi-k8s verify --json`: exit code, the results, the whole output."""
    result = CliRunner().invoke(
        app, ["verify", "-i", str(inventory), *SKIP_WORKLOADS, "--json", *args]
    )
    assert result.exit_code in (0, 5), result.output
    report = json.loads(result.stdout)
    assert report["ok"] is (result.exit_code == 0), result.output
    return result.exit_code, report["results"], result.output


def output_of(keyed: dict[tuple[str, str], dict[str, str]]) -> str:
    return "\n".join(f"{k}: {v}" for k, v in keyed.items())


def by_key(results: list[dict[str, str]]) -> dict[tuple[str, str], dict[str, str]]:
    return {(r["host"], r["name"]): r for r in results}


def failed(results: list[dict[str, str]]) -> set[tuple[str, str]]:
    return {(r["host"], r["name"]) for r in results if r["status"] == "fail"}


def assert_all_pass(inventory: Path) -> list[dict[str, str]]:
    code, results, output = run_verify(inventory)
    assert code == 0, output
    bad = [r for r in results if r["status"] not in ("pass", "skip")]
    assert bad == [], output
    return results


def node_ready(bed: tb.Testbed, node: str) -> str:
    """The Ready condition's status of `node`, as the server reports it."""
    out = sh(bed, "rpi-1", f"/usr/local/bin/k3s kubectl get node {node} -o json")
    conditions = json.loads(out)["status"]["conditions"]
    return next(c["status"] for c in conditions if c["type"] == "Ready")


def wait_node_ready(bed: tb.Testbed, node: str, want_true: bool, timeout: float) -> str:
    deadline = time.monotonic() + timeout
    status = node_ready(bed, node)
    while (status == "True") != want_true and time.monotonic() < deadline:
        time.sleep(3)
        status = node_ready(bed, node)
    return status


# ----------------------------------------------------------------------------- healthy


def test_verify_after_bootstrap_passes_every_check(cluster: Path) -> None:
    results = assert_all_pass(cluster)
    keyed = by_key(results)
    for host, names in EXPECTED.items():
        for name in names:
            assert keyed[(host, name)]["status"] == "pass", (host, name, keyed[(host, name)])
    # What only a server runs must not be checked on the agent, and the reverse.
    assert ("rpi-2", "port 6443") not in keyed
    assert ("rpi-2", "k3s service") not in keyed
    assert ("rpi-1", "k3s-agent service") not in keyed
    assert keyed[("rpi-1", "k3s version")]["detail"] == f"{VERSION} (want {VERSION})"
    assert keyed[("rpi-2", "node Ready")]["detail"].startswith("True")
    assert keyed[("rpi-1", "node versions")]["status"] == "pass"
    if REAL_K3S:
        assert keyed[("rpi-1", "kube-system pods")]["status"] == "pass", output_of(keyed)
        assert keyed[("rpi-1", "cluster DNS")]["status"] == "pass", output_of(keyed)
        return
    assert keyed[("rpi-1", "kube-system pods")] == {
        "host": "rpi-1",
        "name": "kube-system pods",
        "status": "skip",
        "detail": "--skip-workloads",
        "hint": "",
    }


def test_junit_report_is_valid_xml_with_no_failures(cluster: Path, tmp_path: Path) -> None:
    junit = tmp_path / "verify.xml"
    code, results, output = run_verify(cluster, "--junit", str(junit))
    assert code == 0, output
    root = ET.parse(junit).getroot()
    assert root.tag == "testsuites"
    suites = {s.get("name"): s for s in root.iter("testsuite")}
    assert set(suites) == {"rpi-1", "rpi-2"}
    assert sum(int(s.get("failures", "-1")) for s in suites.values()) == 0
    assert root.findall(".//failure") == []
    cases = {(c.get("classname"), c.get("name")) for c in root.iter("testcase")}
    assert cases == {(r["host"], r["name"]) for r in results}
    assert ("rpi-2", "k3s-agent service") in cases
    assert int(suites["rpi-1"].get("skipped", "0")) >= 1  # kube-system pods


# ----------------------------------------------------------------------------- broken on purpose


def test_stopped_agent_fails_its_service_port_and_then_node_ready(
    bed: tb.Testbed, cluster: Path
) -> None:
    """The stand-in marks a node Ready=Unknown once its heartbeat is 40 s old (k3s's
    node-monitor-grace-period), so this test waits for that (~45 s) before the last verify."""
    try:
        sh(bed, "rpi-2", "systemctl stop k3s-agent")
        code, results, output = run_verify(cluster)
        assert code == 5, output
        keyed = by_key(results)
        service = keyed[("rpi-2", "k3s-agent service")]
        assert service["status"] == "fail"
        assert service["detail"] == "enabled=True running=False"
        assert "`sudo systemctl enable --now k3s-agent`" in service["hint"]
        assert "journalctl -u k3s-agent" in service["hint"]
        assert keyed[("rpi-2", "port 10250")]["status"] == "fail"
        assert "is the k3s service running" in keyed[("rpi-2", "port 10250")]["hint"]
        # The node may or may not have gone stale yet; nothing else may fail.
        assert {("rpi-2", "k3s-agent service"), ("rpi-2", "port 10250")} <= failed(results)
        assert failed(results) <= {
            ("rpi-2", "k3s-agent service"),
            ("rpi-2", "port 10250"),
            ("rpi-2", "node Ready"),
        }, output
        assert "rpi-2: k3s-agent service" in output

        assert wait_node_ready(bed, "rpi-2", want_true=False, timeout=90) == "Unknown"
        code, results, output = run_verify(cluster)
        assert code == 5, output
        assert failed(results) == {
            ("rpi-2", "k3s-agent service"),
            ("rpi-2", "port 10250"),
            ("rpi-2", "node Ready"),
        }, output
        ready = by_key(results)[("rpi-2", "node Ready")]
        assert ready["detail"] == "Unknown (NodeStatusUnknown)"
        assert "can it reach the server on 6443" in ready["hint"]
        assert by_key(results)[("rpi-1", "node Ready")]["status"] == "pass"
    finally:
        sh(bed, "rpi-2", "systemctl start k3s-agent")
        assert wait_node_ready(bed, "rpi-2", want_true=True, timeout=60) == "True"


def test_swap_on_fails_swap_off(bed: tb.Testbed, cluster: Path) -> None:
    """Swap is simulated: the containers share the CI machine's kernel, so a real
    `swapon` would turn swap on for the whole machine. Instead a fake /proc/swaps that
    lists a swap file is bind-mounted over the real one inside rpi-2's (privileged)
    container, which is exactly what verify reads."""
    fake = "Filename\\tType\\tSize\\tUsed\\tPriority\\n/var/swap file 524284 0 -2\\n"
    try:
        sh(
            bed,
            "rpi-2",
            f"printf '{fake}' > /run/fake-swaps && mount --bind /run/fake-swaps /proc/swaps",
        )
        code, results, output = run_verify(cluster)
        assert code == 5, output
        assert failed(results) == {("rpi-2", "swap off")}, output
        swap = by_key(results)[("rpi-2", "swap off")]
        assert swap["detail"] == "/var/swap"
        assert "Swap is on" in swap["hint"]
        assert "`sudo swapoff -a`" in swap["hint"]
        assert "dphys-swapfile" in swap["hint"]
    finally:
        sh(bed, "rpi-2", "umount /proc/swaps; rm -f /run/fake-swaps")
    assert sh(bed, "rpi-2", "tail -n +2 /proc/swaps") == ""


def test_missing_memory_cgroup_fails_cgroup_controllers(bed: tb.Testbed, cluster: Path) -> None:
    """The flag is really removed from cmdline.txt, but the missing controller is
    simulated: the containers share the CI machine's kernel, which cannot drop a
    controller for one host. A copy of /proc/cgroups with memory's `enabled` column at
    0 (or, on cgroup v2, a cgroup.controllers without `memory`) is bind-mounted over the
    real file inside rpi-1's privileged container, which is what the kernel of a Pi
    booted without the flag would show."""
    cmdline = "/boot/firmware/cmdline.txt"
    simulate = HIDE_MEMORY
    sh(bed, "rpi-1", f"cp -p {cmdline} /run/cmdline.orig")
    try:
        sh(bed, "rpi-1", f"sed -i 's/ cgroup_enable=memory//' {cmdline}")
        assert "cgroup_enable=memory" not in sh(bed, "rpi-1", f"cat {cmdline}")
        sh(bed, "rpi-1", simulate)
        code, results, output = run_verify(cluster)
        assert code == 5, output
        assert failed(results) == {("rpi-1", "cgroup controllers")}, output
        cg = by_key(results)[("rpi-1", "cgroup controllers")]
        assert cg["detail"].endswith(": missing memory"), cg
        assert f"cgroup_enable=memory is missing from {cmdline}" in cg["hint"]
        assert "reboot" in cg["hint"]
        assert by_key(results)[("rpi-2", "cgroup controllers")]["status"] == "pass"
        # The flag back in cmdline.txt but the controller still off: the flag is not
        # active (no reboot yet, or the Pi 6.12 firmware's cgroup_disable=memory).
        sh(bed, "rpi-1", f"cp -p /run/cmdline.orig {cmdline}")
        code, results, output = run_verify(cluster)
        assert code == 5, output
        cg = by_key(results)[("rpi-1", "cgroup controllers")]
        assert cg["status"] == "fail"
        assert "cmdline.txt flags not active" in cg["hint"]
        assert "cgroup_disable=memory" in cg["hint"]
    finally:
        sh(
            bed,
            "rpi-1",
            "umount /proc/cgroups 2>/dev/null; umount /sys/fs/cgroup/cgroup.controllers"
            f" 2>/dev/null; cp -p /run/cmdline.orig {cmdline}; "
            "rm -f /run/cmdline.orig /run/fake-cgroups /run/fake-controllers",
        )
    assert "cgroup_enable=memory" in sh(bed, "rpi-1", f"cat {cmdline}")


def test_env_file_readable_by_all_fails_its_mode_check(bed: tb.Testbed, cluster: Path) -> None:
    try:
        sh(bed, "rpi-2", f"chmod 0644 {AGENT_ENV}")
        code, results, output = run_verify(cluster)
        assert code == 5, output
        assert failed(results) == {("rpi-2", f"mode {AGENT_ENV}")}, output
        mode = by_key(results)[("rpi-2", f"mode {AGENT_ENV}")]
        assert mode["detail"] == "0644"
        assert f"`sudo chmod 600 {AGENT_ENV}`" in mode["hint"]
        assert "cluster token" in mode["hint"]
    finally:
        sh(bed, "rpi-2", f"chmod 0600 {AGENT_ENV}")


def test_time_sync_disabled_fails_time_synchronised(bed: tb.Testbed, cluster: Path) -> None:
    """A container's clock is the host kernel's, so inside one verify accepts an enabled
    systemd-timesyncd (which stays inactive there) as the time service."""
    assert sh(bed, "rpi-2", "systemd-detect-virt --container").strip() == "podman"
    try:
        sh(bed, "rpi-2", "systemctl disable systemd-timesyncd")
        code, results, output = run_verify(cluster)
        assert code == 5, output
        assert failed(results) == {("rpi-2", "time synchronised")}, output
        ts = by_key(results)[("rpi-2", "time synchronised")]
        assert ts["detail"] == "podman: clock is the host's; systemd-timesyncd disabled"
        assert "The clock is not synchronised" in ts["hint"]
        assert "`sudo systemctl enable --now systemd-timesyncd`" in ts["hint"]
    finally:
        sh(bed, "rpi-2", "systemctl enable systemd-timesyncd")


def test_host_states_clock_read_is_what_timedatectl_says(bed: tb.Testbed, cluster: Path) -> None:
    """pi_prereq's read decides whether the clock is synchronised with host_state's clock
    read (the kernel's maximum error, as timedated computes NTPSynchronized) instead of
    timedatectl: on a systemd host both must answer the same."""
    for host in ("rpi-1", "rpi-2"):
        ours = sh(bed, host, clock_read_command()).strip()
        theirs = sh(bed, host, "timedatectl show --property=NTPSynchronized --value").strip()
        assert ours == theirs, host


def test_every_host_is_whole_again(cluster: Path) -> None:
    results = assert_all_pass(cluster)
    keyed = by_key(results)
    for host, names in EXPECTED.items():
        assert {n for h, n in keyed if h == host} >= names
