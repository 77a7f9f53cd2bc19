"""Fixtures for the test-VM suite (``make test-vm``, and ``test_vm_ci.py`` in ``make
test``'s vm phase): QEMU VMs with their own kernel.

Each fixture brings its VMs up, with an NTP server on their bridge (tests/vm/ntp.py), and
always takes them down, even when a test fails. The VMs' image is cached in
``$PI_K8S_IMAGE_DIR`` (the Makefile points it at ``.state/images``) so that only the first
run builds it. ``PI_K8S_TEST_VM_NAME`` and ``PI_K8S_TEST_VM_SUBNET`` replace each module's
testbed name and /24 (for a helper given other ones); run one module at a time then.
"""

from __future__ import annotations

import ipaddress
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
import testinfra
import yaml

from pi_k8s import testbed as tb
from pi_k8s.testbed import qemu as tbq
from tests.conftest import K3S_VERSION, airgap_for
from tests.testbed_inventory import cluster_inventory
from tests.vm.ntp import ntp_server

# The stand-in's release, or under PI_K8S_E2E_K3S the first real one (tests/k3s_release.py).
VERSION = K3S_VERSION


# The role's wait for a synchronised clock, in seconds: its default, never 0 here.
TIME_SYNC_TIMEOUT = 120


def vm_testbed(name: str, subnet: str) -> tuple[str, str]:
    """The module's testbed name and subnet, or those of the environment (docstring above)."""
    return (
        os.environ.get("PI_K8S_TEST_VM_NAME", name),
        os.environ.get("PI_K8S_TEST_VM_SUBNET", subnet),
    )


def bridge_address(subnet: str) -> str:
    """The host's address on the VMs' bridge (``.1``): where the NTP server listens."""
    return str(next(ipaddress.ip_network(subnet).hosts()))


def _skip_unless_possible(arch: str) -> None:
    if os.geteuid() != 0:
        pytest.skip("test VMs need root")
    if not shutil.which(tbq.ARCHES[arch].qemu):
        pytest.skip(f"{tbq.ARCHES[arch].qemu} is not installed (make test-vm installs it)")


def make_vms(name: str, subnet: str, nodes: int, arch: str) -> Iterator[tb.Testbed]:
    """Bring VMs up with chronyd on their bridge, and always take them down (a failed
    ``up`` included)."""
    _skip_unless_possible(arch)
    try:
        bed = tbq.up(nodes, name=name, subnet=subnet, arch=arch)
        with ntp_server(subnet, _logs_dir(name) / "ntp"):
            yield bed
    finally:
        _keep_logs(name)
        tbq.down(name)


def _logs_dir(name: str) -> Path:
    return tb.testbed_dir(name).parent.parent / "vm-logs" / name


def _keep_logs(name: str) -> None:
    """Keep each VM's serial console and boot log (down removes the VM dirs)."""
    keep = _logs_dir(name)
    for vm in (tb.testbed_dir(name) / "vms").glob("*"):
        for fname in ("console.log", "boots.log", "supervisor.log"):
            if (vm / fname).exists():
                (keep / vm.name).mkdir(parents=True, exist_ok=True)
                shutil.copy2(vm / fname, keep / vm.name / fname)


def write_inventory(
    bed: tb.Testbed, subnet: str, servers: list[str], agents: list[str], path: Path
) -> Path:
    """A hand-written style inventory for the VMs, on the roles' documented defaults.

    pi_prereq_reboot_method stays at its default, ``auto``: a VM is no container, so
    it reboots for real. The VMs reach nothing outside their subnet: their NTP server is
    the test's chronyd on the bridge (``pi_prereq_ntp_servers``), and the role waits for
    the clock to be synchronised (``pi_prereq_time_sync_timeout``, never 0 here).
    """
    data = cluster_inventory(
        bed,
        servers,
        agents,
        pi_prereq_ntp_servers=[bridge_address(subnet)],
        pi_prereq_time_sync_timeout=TIME_SYNC_TIMEOUT,
    )
    path.write_text(yaml.safe_dump(data))
    return path


def host(bed: tb.Testbed, name: str) -> testinfra.host.Host:
    """A testinfra host over SSH with the testbed's key and known_hosts."""
    return testinfra.get_host(f"ssh://{name}", ssh_config=str(bed.ssh_config))


@pytest.fixture(scope="session")
def airgap(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return airgap_for(tmp_path_factory.mktemp("airgap"), VERSION)


@pytest.fixture(scope="session")
def home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The controller user's home: the kubeconfig lands in its ~/.kube."""
    mp = pytest.MonkeyPatch()
    home = tmp_path_factory.mktemp("home")
    mp.setenv("HOME", str(home))
    yield home
    mp.undo()
