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
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from pi_k8s import testbed as tb
from tests.badinput.cases import fill, load
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
    "useradd -m -s /bin/sh nosudo && install -d -o nosudo -m 700 ~nosudo/.ssh"
    " && install -o nosudo -m 600 ~pi/.ssh/authorized_keys ~nosudo/.ssh/"
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


@pytest.fixture
def case_dir() -> Iterator[Path]:
    """The case's directory, under a short name: HOME is in it, Ansible keeps its SSH
    control sockets in ~/.ansible/cp, and a socket path over 107 bytes (easily reached
    under pytest's tmp_path) makes every host 'unreachable'."""
    path = Path(tempfile.mkdtemp(prefix="bi11-", dir="/tmp"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def _drop_binary(airgap: Path) -> None:
    (airgap / "k3s").unlink()


def _drop_checksum_line(airgap: Path) -> None:
    sums = airgap / "sha256sum-amd64.txt"
    lines = sums.read_text().splitlines(keepends=True)
    sums.write_text("".join(line for line in lines if not line.rstrip().endswith(" k3s")))


# A case's ``airgap``: the change to its copy of the stand-in airgap dir; its ``host``:
# (host, command run before, command run after, whatever happened).
AIRGAP_CHANGES: dict[str, Callable[[Path], None]] = {
    "drop_binary": _drop_binary,
    "drop_checksum_line": _drop_checksum_line,
}
HOST_CHANGES = {"nosudo_user": ("rpi-2", NOSUDO_ADD, NOSUDO_DEL)}
# The cases: cases.yaml, section on_hosts ({inv} and {wrong_key} are filled per run).
CASES = load("on_hosts")

WORKLOADS = (
    "workloads:\n  - name: web\n    manifests: [web.yaml]\n",
    "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: web\n"
    'data:\n  greeting: "[bold]héllo[/x] \'q\\""\n',
)


def _inventory(bed: tb.Testbed, case: dict[str, Any], work: Path, airgap: Path) -> Path:
    """The case's hand-written inventory: k3s from the airgap dir, as the inventory says."""
    k3s = {
        "cluster_k3s_source": "airgap",
        "cluster_k3s_airgap_dir": str(airgap),
        "cluster_k3s_version": STANDIN_VERSION,
    }
    agents = case.get("agents", ["rpi-2", "rpi-3"])
    inv = cluster_inventory(
        bed,
        case.get("servers", ["rpi-1"]),
        [a for a in agents if a != "rpi-9"],
        **{**k3s, **case.get("vars", {})},
    )
    groups = inv["all"]["children"]["k3s_cluster"]["children"]  # type: ignore[index]
    if "rpi-9" in agents:
        groups["agent"]["hosts"]["rpi-9"] = {"ansible_host": NOBODY}
    for host, hv in case.get("host_vars", {}).items():
        for group in groups.values():
            if host in group["hosts"]:
                group["hosts"][host].update(hv)
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
    name: str, mode: str, bed: tb.Testbed, airgap: Path, wrong_key: Path, case_dir: Path
) -> None:
    case = fill(CASES[name], {"wrong_key": str(wrong_key)})
    work, home, state = case_dir / "work", case_dir / "home", case_dir / "state"
    work.mkdir()
    (home / ".kube").mkdir(parents=True)
    (home / ".kube" / "config").write_text("apiVersion: v1\nkind: Config\n")
    state.mkdir(mode=0o700)
    # A copy in the case's directory, so the controller check covers the dir passed in.
    source = work / "airgap"
    shutil.copytree(airgap, source)
    if "airgap" in case:
        AIRGAP_CHANGES[case["airgap"]](source)
    inv = _inventory(bed, case, work, source)
    (work / "workloads.yaml").write_text(WORKLOADS[0])
    (work / "web.yaml").write_text(WORKLOADS[1])
    args = fill(case["args"], {"inv": str(inv)})
    env = {"PI_K8S_STATE_DIR": str(state), "HOME": str(home)}
    containers = {h.name: h.container for h in bed.hosts}
    host = HOST_CHANGES.get(case.get("host", ""))
    if host:
        assert host_sh(bed, host[0], host[1]).returncode == 0
    try:
        hosts_before, controller_before = snapshots(containers), _controller(case_dir)
        result = run(mode, args, env=env, cwd=work, timeout=600)
        hosts_after, controller_after = snapshots(containers), _controller(case_dir)
    finally:
        if host:
            assert host_sh(bed, host[0], host[2]).returncode == 0
    assert_refused(result, case["exit"], case["expect"], case.get("hint"))
    for h in HOSTS:
        assert hosts_after[h] == hosts_before[h], (h, result.text)
    assert controller_after == controller_before, result.text
    # The fresh hosts really are fresh: no flag in cmdline.txt, no reboot recorded.
    fresh = "! grep -q cgroup_enable=memory /boot/firmware/cmdline.txt && ! test -e /var/lib/pi-k8s"
    for h in HOSTS:
        assert host_sh(bed, h, fresh).returncode == 0, (h, result.text)
