"""Nothing is touched until everything is validated (issue 11 §1).

Each bad input below used to be caught only after `pi_prereq` had edited cmdline.txt,
recorded a reboot, and written its swap, module and sysctl files on every host (or not at
all). Now site.yml's first play checks everything and any failure stops the whole run:
each test runs `pi-k8s bootstrap` on live testbed hosts, expects it to fail naming the
host and the rule, and compares a snapshot of every host (tests/host_snapshot.py) taken
before and after: they must be identical.

The inputs are in the inventory, not in flags: `pi-k8s bootstrap` checks its own flags
before Ansible (tests/unit/test_bootstrap_flags.py), but a hand-written inventory, or
plain ansible-playbook, reaches the playbook as is. None of these cases needs a
bootstrapped cluster, so the hosts stay fresh for the whole module.
"""

from __future__ import annotations

import contextlib
import functools
import http.server
import ipaddress
import shutil
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from pi_k8s import testbed as tb
from pi_k8s.cli import app
from tests.conftest import HIDE_MEMORY, STANDIN_VERSION, make_testbed
from tests.conftest import host_sh as sh
from tests.host_snapshot import snapshots
from tests.testbed_inventory import cluster_inventory

pytestmark = pytest.mark.testbed

NAME = "w11c"
SUBNET = "10.213.70.0/24"
HOSTS = ("rpi-1", "rpi-2", "rpi-3")


@pytest.fixture(scope="module")
def bed(_private_state_dir: Path) -> Iterator[tb.Testbed]:
    """Three fresh Pi hosts, never bootstrapped by this module."""
    yield from make_testbed(NAME, SUBNET, nodes=3)


def containers(bed: tb.Testbed) -> dict[str, str]:
    return {h.name: h.container for h in bed.hosts}


def inventory(
    bed: tb.Testbed,
    path: Path,
    airgap: Path,
    servers: list[str],
    agents: list[str],
    host_vars: dict[str, dict[str, Any]] | None = None,
    **cluster_vars: object,
) -> Path:
    """A hand-written inventory: the k3s source and version are the inventory's own."""
    k3s = {
        "cluster_k3s_source": "airgap",
        "cluster_k3s_airgap_dir": str(airgap),
        "cluster_k3s_version": STANDIN_VERSION,
    }
    inv = cluster_inventory(bed, servers, agents, **{**k3s, **cluster_vars})
    groups = inv["all"]["children"]["k3s_cluster"]["children"]  # type: ignore[index]
    for host, hv in (host_vars or {}).items():
        for group in groups.values():
            if host in group["hosts"]:
                group["hosts"][host].update(hv)
    path.write_text(yaml.safe_dump(inv))
    return path


def bootstrap(inv: Path, *extra: str) -> tuple[int, str]:
    """`pi-k8s bootstrap -i INV` with no k3s flags: what the inventory says is used."""
    result = CliRunner(env={"COLUMNS": "200"}).invoke(
        app, ["bootstrap", "-i", str(inv), "--no-verify", *extra]
    )
    return result.exit_code, result.output


# Each case: (inventory layout and variables, a change to the airgap dir or the hosts and
# its undo, the texts the failure must show: the host and the rule).
Case = dict[str, Any]


def assert_ok(returncode: int) -> None:
    assert returncode == 0


def _drop_checksum_line(airgap: Path) -> None:
    sums = airgap / "sha256sum-amd64.txt"
    lines = sums.read_text().splitlines(keepends=True)
    sums.write_text("".join(line for line in lines if not line.rstrip().endswith(" k3s")))


def _mirror_without_the_checksum_line(mirror: Path) -> None:
    release = mirror / STANDIN_VERSION
    release.mkdir(parents=True)
    (release / "sha256sum-amd64.txt").write_text(f"{'0' * 64}  k3s-airgap-images-amd64.tar\n")


def _empty_mirror(mirror: Path) -> None:
    mirror.mkdir(parents=True, exist_ok=True)


@contextlib.contextmanager
def serving(directory: Path) -> Iterator[str]:
    """An HTTP mirror on the testbed network's gateway (this machine's side of the bridge)."""
    gateway = str(next(ipaddress.ip_network(SUBNET).hosts()))

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(
        (gateway, 0), functools.partial(Quiet, directory=str(directory))
    )
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://{gateway}:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


CASES: dict[str, Case] = {
    "even_number_of_servers": {
        "servers": ["rpi-1", "rpi-2"],
        "agents": ["rpi-3"],
        "expect": ["has 2 servers (rpi-1, rpi-2)", "use 1, 3, 5 or 7"],
    },
    "no_server": {
        "servers": [],
        "agents": ["rpi-1", "rpi-2", "rpi-3"],
        "expect": ["No host in the 'server' group", "at least one"],
    },
    "host_both_server_and_agent": {
        "servers": ["rpi-1"],
        "agents": ["rpi-1", "rpi-2", "rpi-3"],
        "expect": ["rpi-1 is in both the 'server' and the 'agent' group"],
    },
    "version_without_v": {
        "vars": {"cluster_k3s_version": STANDIN_VERSION.removeprefix("v")},
        "expect": [
            "rpi-1: k3s_install_version (cluster_k3s_version) '1.31.4+k3s1'",
            "is not a k3s release tag",
            "with the leading v",
        ],
    },
    "misspelt_source": {
        "vars": {"cluster_k3s_source": "mirorr"},
        "expect": [
            "rpi-1 failed",
            "k3s_install_source must be one of: release, mirror, airgap, got: mirorr",
        ],
    },
    "airgap_without_the_hosts_binary": {
        "airgap": lambda d: (d / "k3s").unlink(),
        "expect": ["lacks k3s for rpi-1 (x86_64)"],
    },
    "airgap_without_the_checksum_line": {
        "airgap": _drop_checksum_line,
        "expect": [
            "sha256sum-amd64.txt from",
            "has no checksum for k3s, the binary rpi-1 (x86_64) needs",
        ],
    },
    # A mirror is read by each host (the checksum file) before anything is installed.
    "mirror_without_the_checksum_line": {
        "mirror": _mirror_without_the_checksum_line,
        "expect": [
            "sha256sum-amd64.txt from",
            "has no checksum for k3s, the binary rpi-1 (x86_64) needs",
        ],
    },
    "mirror_without_the_release": {
        "mirror": _empty_mirror,
        "expect": ["rpi-1 could not download http://", "/sha256sum-amd64.txt", "mirror URL"],
    },
    "armv6_host": {
        "host_vars": {"rpi-3": {"pi_k8s_arch": "armv6l"}},
        "expect": ["rpi-3 is armv6l (pi_k8s_arch in the inventory)", "ARMv6 boards"],
    },
    "duplicate_hostnames": {
        # rpi-2's kernel hostname (its UTS namespace, not /etc/hostname) says rpi-1.
        "hosts": ("rpi-2", "hostname rpi-1", "hostname rpi-2"),
        "expect": ["rpi-1 and rpi-2 report the same hostname rpi-1"],
    },
    "too_little_free_space": {
        "vars": {"pi_k8s_validate_min_free_mb": 10**9},
        "expect": ["rpi-1 has", "MiB free under /var/lib", "needs at least 1000000000 MiB"],
    },
    # df runs in pi_prereq's one read of the host; a path it cannot read has its own message.
    "free_space_path_missing": {
        "vars": {"pi_k8s_validate_free_space_path": "/no/such/dir"},
        "expect": ["rpi-1: cannot read the free space under /no/such/dir", "No such file"],
    },
    # The roles' argument specs: pi_k8s_validate's and pi_prereq's in one task on every
    # host, k3s_agent's and k3s_install's (as k3s_agent passes it) in one task on each agent
    # (plugins/filter/argument_spec.py reads the specs).
    "pi_k8s_validate_spec": {
        "vars": {"pi_k8s_validate_min_free_mb": "lots"},
        "expect": ["rpi-1 failed", "pi_k8s_validate_min_free_mb", "int"],
    },
    "pi_prereq_spec": {
        "host_vars": {"rpi-2": {"pi_prereq_reboot_method": "kexec"}},
        "expect": [
            "rpi-2 failed",
            "pi_prereq_reboot_method must be one of: auto, reboot, marker, got: kexec",
        ],
    },
    "k3s_agent_spec": {
        "host_vars": {"rpi-3": {"k3s_agent_config": ["snapshotter=native"]}},
        "expect": ["rpi-3 failed", "k3s_agent_config", "dict"],
    },
    "k3s_install_spec_on_an_agent": {
        "host_vars": {"rpi-3": {"k3s_install_wait_retries": "many"}},
        "expect": ["rpi-3 failed", "k3s_install_wait_retries", "int"],
    },
    "ntp_server_with_a_blank": {
        "vars": {"pi_prereq_ntp_servers": ["ntp.lan pool.ntp.org"]},
        "expect": [
            "pi_prereq_ntp_servers must list single host names or addresses",
            'got ["ntp.lan pool.ntp.org"]',
        ],
    },
}


@pytest.mark.parametrize("case", list(CASES), ids=list(CASES))
def test_bad_input_fails_before_any_host_is_changed(
    case: str, bed: tb.Testbed, airgap: Path, tmp_path: Path, controller_home: Path
) -> None:
    spec = CASES[case]
    source = airgap
    if "airgap" in spec:
        source = tmp_path / "airgap"
        shutil.copytree(airgap, source)
        change: Callable[[Path], None] = spec["airgap"]
        change(source)
    host, do, undo = spec.get("hosts", (None, None, None))
    with contextlib.ExitStack() as stack:
        variables = dict(spec.get("vars", {}))
        if "mirror" in spec:
            spec["mirror"](tmp_path / "mirror")
            url = stack.enter_context(serving(tmp_path / "mirror"))
            variables |= {"cluster_k3s_source": "mirror", "cluster_k3s_mirror_url": url}
        inv = inventory(
            bed,
            tmp_path / "hosts.yml",
            source,
            spec.get("servers", ["rpi-1"]),
            spec.get("agents", ["rpi-2", "rpi-3"]),
            host_vars=spec.get("host_vars"),
            **variables,
        )
        if host:
            assert sh(bed, host, do).returncode == 0
            stack.callback(lambda: assert_ok(sh(bed, host, undo).returncode))
        before = snapshots(containers(bed))
        code, output = bootstrap(inv)
        after = snapshots(containers(bed))
    assert code == 4, output
    for text in spec["expect"]:
        assert text in " ".join(output.split()), (text, output)
    for h in HOSTS:
        assert after[h] == before[h], (h, output)
    # The fresh hosts really are untouched: no flag in cmdline.txt, no reboot recorded.
    for h in HOSTS:
        assert "cgroup_enable=memory" not in sh(bed, h, "cat /boot/firmware/cmdline.txt").stdout
        assert sh(bed, h, "ls /var/lib/pi-k8s 2>&1").returncode != 0


# Undoes conftest's HIDE_MEMORY.
SHOW_MEMORY = (
    "umount /proc/cgroups 2>/dev/null; umount /sys/fs/cgroup/cgroup.controllers 2>/dev/null;"
    " rm -f /run/fake-cgroups /run/fake-controllers"
)


def test_check_mode_on_a_fresh_pi_without_the_memory_cgroup_plans_the_reboot(
    bed: tb.Testbed, airgap: Path, tmp_path: Path, controller_home: Path
) -> None:
    """`bootstrap --check` on a Pi whose cmdline.txt lacks the flags and whose kernel has
    no memory cgroup yet: the reboot that fixes it is planned, not failed on.

    rpi-1 gets pi_prereq_reboot_method=reboot, as on a real Pi (in a container the role
    would only record the reboot, and never reaches the memory check in check mode)."""
    inv = inventory(
        bed,
        tmp_path / "hosts.yml",
        airgap,
        ["rpi-1"],
        ["rpi-2", "rpi-3"],
        host_vars={"rpi-1": {"pi_prereq_reboot_method": "reboot"}},
    )
    assert "cgroup_enable=memory" not in sh(bed, "rpi-1", "cat /boot/firmware/cmdline.txt").stdout
    try:
        assert sh(bed, "rpi-1", HIDE_MEMORY).returncode == 0
        controllers = sh(
            bed, "rpi-1", "cat /sys/fs/cgroup/cgroup.controllers 2>/dev/null || cat /proc/cgroups"
        )
        assert "memory" not in controllers.stdout.split() or "\t0" in controllers.stdout
        before = snapshots(containers(bed))
        code, output = bootstrap(inv, "--check")
        after = snapshots(containers(bed))
    finally:
        sh(bed, "rpi-1", SHOW_MEMORY)
    assert code == 0, output
    plan = " ".join(output.split("plan (check mode: nothing was changed)", 1)[1].split())
    assert "rpi-1 would enable the memory cgroup and reboot" in plan, output
    assert after == before, output
