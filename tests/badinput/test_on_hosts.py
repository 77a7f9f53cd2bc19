"""The bad-input corpus, part 2: cases that reach live testbed hosts.

One module-scoped testbed, ``bi11`` on 10.213.90.0/24: three fresh Pi hosts, never
bootstrapped. Each case runs the real `pi-k8s` command piped and under a
pseudo-terminal (tests/badinput/runner.py) against those hosts and must exit with the
documented code, name the problem, print a hint and show no traceback. Around every
run it takes a snapshot of each host (tests/host_snapshot.py: cmdline.txt, the reboot
marker and counter, /etc/rancher, /usr/local/bin/k3s, swap config, /etc/sysctl.d,
/etc/modules-load.d, ...) and of the controller: the case's directory, holding its
PI_K8S_STATE_DIR, HOME (~/.kube) and every file and directory passed in, with each
file's hash and each directory's mode. Both must be unchanged, with two exceptions
the run is allowed: ``$PI_K8S_STATE_DIR/runs/`` (every playbook run keeps its
ansible-runner artifacts there, refused or not) and ``~/.ansible`` (Ansible's own
local temp dir and SSH control sockets).

The acceptance cases of issue 11 (an even-server inventory, a version without ``v``,
an airgap dir lacking the host's architecture) are here as the real CLI; their
CliRunner versions, with the other first-play rules, are in
tests/integration/test_validate_first.py.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

from pi_k8s import testbed as tb
from tests.badinput.controller import tree
from tests.badinput.runner import MODES, assert_refused, run
from tests.conftest import STANDIN_VERSION, host_sh, make_testbed
from tests.host_snapshot import snapshots
from tests.testbed_inventory import cluster_inventory

pytestmark = pytest.mark.testbed

NAME = "bi11"
SUBNET = "10.213.90.0/24"
NOBODY = "10.213.90.250"  # in the testbed's subnet; no container has it
HOSTS = ("rpi-1", "rpi-2", "rpi-3")
# rpi-2 gets a user whose key is authorised but who has no sudo rights.
NOSUDO_ADD = (
    "useradd -m -s /bin/sh nosudo && install -d -o nosudo -m 700 /home/nosudo/.ssh"
    " && install -o nosudo -m 600 /home/pi/.ssh/authorized_keys /home/nosudo/.ssh/"
)
# Its SSH sessions (Ansible keeps a master connection for 60 s) end before userdel.
NOSUDO_DEL = "pkill -KILL -u nosudo; sleep 1; userdel -r nosudo"


@pytest.fixture(scope="module")
def bed(_private_state_dir: Path) -> Iterator[tb.Testbed]:
    """Three fresh Pi hosts, never bootstrapped by this module."""
    yield from make_testbed(NAME, SUBNET, nodes=3)


@pytest.fixture(scope="module")
def wrong_key(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A valid SSH private key that no testbed host authorises."""
    key = tmp_path_factory.mktemp("wrong-key") / "id_ed25519"
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True, timeout=30
    )
    return key


@dataclass(frozen=True)
class Case:
    """args: the command line ({inv}: the inventory written from ``servers``,
    ``agents``, ``host_vars`` and ``vars``); code, expect, hint: as in
    test_host_free.py; airgap: a change to a copy of the stand-in airgap dir, which the
    inventory names; host: (host, command, undo command) run around the case."""

    args: list[str]
    code: int
    expect: list[str]
    hint: str | None = None
    servers: list[str] = field(default_factory=lambda: ["rpi-1"])
    agents: list[str] = field(default_factory=lambda: ["rpi-2", "rpi-3"])
    host_vars: dict[str, dict[str, Any]] = field(default_factory=dict)
    vars: dict[str, Any] = field(default_factory=dict)
    airgap: Callable[[Path], None] | None = None
    host: tuple[str, str, str] | None = None


def _drop_checksum_line(airgap: Path) -> None:
    sums = airgap / "sha256sum-amd64.txt"
    lines = sums.read_text().splitlines(keepends=True)
    sums.write_text("".join(line for line in lines if not line.rstrip().endswith(" k3s")))


BOOTSTRAP = ["bootstrap", "-i", "{inv}", "--no-verify"]

CASES: dict[str, Case] = {
    "bootstrap_even_servers": Case(
        BOOTSTRAP,
        4,
        ["has 2 servers (rpi-1, rpi-2)", "use 1, 3, 5 or 7"],
        servers=["rpi-1", "rpi-2"],
        agents=["rpi-3"],
    ),
    "bootstrap_version_without_v": Case(
        BOOTSTRAP,
        4,
        ["k3s_install_version (cluster_k3s_version) '1.31.4+k3s1'", "with the leading v"],
        vars={"cluster_k3s_version": STANDIN_VERSION.removeprefix("v")},
    ),
    "bootstrap_misspelt_source": Case(
        BOOTSTRAP,
        4,
        ["k3s_install_source must be one of: release, mirror, airgap, got: mirorr"],
        vars={"cluster_k3s_source": "mirorr"},
    ),
    "bootstrap_airgap_lacks_the_hosts_binary": Case(
        BOOTSTRAP,
        4,
        ["lacks k3s for rpi-1 (x86_64)"],
        airgap=lambda d: (d / "k3s").unlink(),
    ),
    "bootstrap_airgap_lacks_the_checksum_line": Case(
        BOOTSTRAP,
        4,
        ["has no checksum for k3s, the binary rpi-1 (x86_64) needs"],
        airgap=_drop_checksum_line,
    ),
    "bootstrap_armv6_host": Case(
        BOOTSTRAP,
        4,
        ["rpi-3 is armv6l (pi_k8s_arch in the inventory)", "ARMv6 boards"],
        host_vars={"rpi-3": {"pi_k8s_arch": "armv6l"}},
    ),
    "bootstrap_unreachable_host": Case(
        BOOTSTRAP,
        4,
        ["rpi-9", "unreachable"],
        agents=["rpi-2", "rpi-3", "rpi-9"],
    ),
    "bootstrap_wrong_ssh_key": Case(
        BOOTSTRAP,
        4,
        ["unreachable", "Permission denied"],
        host_vars={"rpi-2": {"ansible_ssh_private_key_file": "{wrong_key}"}},
    ),
    "bootstrap_sudo_refused": Case(
        BOOTSTRAP,
        4,
        ["rpi-2", "sudo"],
        host_vars={"rpi-2": {"ansible_user": "nosudo"}},
        host=("rpi-2", NOSUDO_ADD, NOSUDO_DEL),
    ),
    "bootstrap_hostile_cluster_name": Case(
        BOOTSTRAP,
        4,
        ["cluster_name"],
        vars={"cluster_name": "[bold]évil[/x] 'q\""},
    ),
    "verify_unbootstrapped_hosts": Case(
        ["verify", "-i", "{inv}", "--skip-workloads"],
        5,
        ["check(s) failed", "rpi-1: k3s"],
        "Each failure above says its likely cause and fix",
    ),
    "verify_unreachable_host": Case(
        ["verify", "-i", "{inv}", "--skip-workloads"],
        5,
        ["rpi-9: reachable", "10.213.90.250"],
        agents=["rpi-2", "rpi-3", "rpi-9"],
    ),
    "deploy_to_unbootstrapped_cluster": Case(
        ["deploy", "-s", "workloads.yaml", "-i", "{inv}", "--no-wait"],
        4,
        ["rpi-1"],
    ),
}

WORKLOADS = (
    "workloads:\n  - name: web\n    manifests: [web.yaml]\n",
    "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: web\n"
    'data:\n  greeting: "[bold]héllo[/x] \'q\\""\n',
)


def _inventory(bed: tb.Testbed, case: Case, work: Path, airgap: Path, key: Path) -> Path:
    """The case's hand-written inventory: k3s from the airgap dir, as the inventory says."""
    k3s = {
        "cluster_k3s_source": "airgap",
        "cluster_k3s_airgap_dir": str(airgap),
        "cluster_k3s_version": STANDIN_VERSION,
    }
    inv = cluster_inventory(
        bed, case.servers, [a for a in case.agents if a != "rpi-9"], **{**k3s, **case.vars}
    )
    groups = inv["all"]["children"]["k3s_cluster"]["children"]  # type: ignore[index]
    if "rpi-9" in case.agents:
        groups["agent"]["hosts"]["rpi-9"] = {"ansible_host": NOBODY}
    for host, hv in case.host_vars.items():
        for group in groups.values():
            if host in group["hosts"]:
                group["hosts"][host].update(
                    {k: str(v).replace("{wrong_key}", str(key)) for k, v in hv.items()}
                )
    path = work / "hosts.yml"
    path.write_text(yaml.safe_dump(inv, allow_unicode=True))
    return path


def _controller(root: Path) -> dict[str, str]:
    """``tree(root)`` without what a refused run may add (see the module's docstring)."""
    return {
        p: v
        for p, v in tree(root).items()
        if not (p == "state/runs" or p.startswith(("state/runs/", "home/.ansible")))
    }


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("name", list(CASES))
def test_bad_input_on_live_hosts_changes_nothing(
    name: str, mode: str, bed: tb.Testbed, airgap: Path, wrong_key: Path, tmp_path: Path
) -> None:
    case = CASES[name]
    work, home, state = tmp_path / "work", tmp_path / "home", tmp_path / "state"
    work.mkdir()
    (home / ".kube").mkdir(parents=True)
    (home / ".kube" / "config").write_text("apiVersion: v1\nkind: Config\n")
    state.mkdir(mode=0o700)
    # A copy in the case's directory, so the controller check covers the dir passed in.
    source = work / "airgap"
    shutil.copytree(airgap, source)
    if case.airgap is not None:
        case.airgap(source)
    inv = _inventory(bed, case, work, source, wrong_key)
    (work / "workloads.yaml").write_text(WORKLOADS[0])
    (work / "web.yaml").write_text(WORKLOADS[1])
    args = [a.replace("{inv}", str(inv)).replace("{wrong_key}", str(wrong_key)) for a in case.args]
    env = {"PI_K8S_STATE_DIR": str(state), "HOME": str(home)}
    containers = {h.name: h.container for h in bed.hosts}
    if case.host:
        assert host_sh(bed, case.host[0], case.host[1]).returncode == 0
    try:
        hosts_before, controller_before = snapshots(containers), _controller(tmp_path)
        result = run(mode, args, env=env, cwd=work, timeout=600)
        hosts_after, controller_after = snapshots(containers), _controller(tmp_path)
    finally:
        if case.host:
            assert host_sh(bed, case.host[0], case.host[2]).returncode == 0
    assert_refused(result, case.code, case.expect, case.hint)
    for h in HOSTS:
        assert hosts_after[h] == hosts_before[h], (h, result.text)
    assert controller_after == controller_before, result.text
    # The fresh hosts really are fresh: no flag in cmdline.txt, no reboot recorded.
    for h in HOSTS:
        assert (
            "cgroup_enable=memory" not in host_sh(bed, h, "cat /boot/firmware/cmdline.txt").stdout
        )
        assert host_sh(bed, h, "test -e /var/lib/pi-k8s").returncode != 0
