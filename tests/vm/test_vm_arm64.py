"""An arm64 test VM (qemu-system-aarch64 -M virt): the roles pick the k3s-arm64 asset.

One server, bootstrapped (verify included) with the stand-in's airgap directory, which
holds all three assets; the role must choose by the host's architecture (`uname -m` =
aarch64). As on the x86_64 VMs: swap on before and off after, the clock synchronised from
the test's NTP server on the bridge. With --fast (Mitogen): an arm64 guest under TCG is
the slowest of the VMs, and one Python per host for the run saves most of it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

import pytest

from pi_k8s import testbed as tb
from tests.vm.conftest import bridge_address, host, make_vms, vm_testbed, write_inventory
from tests.vm.pi_state import MODULES, SYSCTLS, pi_state
from tests.vm.test_vm_bootstrap import bootstrap

pytestmark = pytest.mark.vm

NAME, SUBNET = vm_testbed("vmarm", "10.213.17.0/24")


@pytest.fixture(scope="module")
def arm(tmp_path_factory: pytest.TempPathFactory, home: Path, airgap: Path) -> Iterator[dict]:
    for bed in make_vms(NAME, SUBNET, nodes=1, arch="arm64"):
        inv = write_inventory(bed, SUBNET, ["rpi-1"], [], tmp_path_factory.mktemp("inv") / "h.yml")
        h = host(bed, "rpi-1")
        h.run("systemctl is-system-running --wait")
        before = pi_state(h)
        code, output = bootstrap(inv, airgap, "--fast")
        yield {"bed": bed, "code": code, "output": output, "before": before, "after": pi_state(h)}


def test_arm64_vm_is_aarch64_and_gets_the_arm64_asset(arm: dict, airgap: Path) -> None:
    assert arm["code"] == 0, arm["output"]
    bed: tb.Testbed = arm["bed"]
    h = host(bed, "rpi-1")
    assert h.check_output("uname -m") == "aarch64"
    want = hashlib.sha256((airgap / "k3s-arm64").read_bytes()).hexdigest()
    assert h.file("/usr/local/bin/k3s").sha256sum == want
    assert "asset k3s-arm64)" in h.check_output("/usr/local/bin/k3s --version")
    cmdline = h.file("/proc/cmdline").content_string.split()
    assert "cgroup_enable=memory" in cmdline and "console=ttyAMA0,115200" in cmdline


def test_arm64_vm_swap_off_modules_sysctls_and_clock(arm: dict) -> None:
    assert arm["code"] == 0, arm["output"]
    before, after = arm["before"], arm["after"]
    assert before["swaps"] == ["/var/swap"] and after["swaps"] == []
    assert after["dphys_swapfile"] == "disabled"
    assert after["boot_id"] != before["boot_id"]
    for module in MODULES:
        assert after["modules"][module] in ("loaded", "built in"), module
    for key in SYSCTLS:
        assert after["sysctls"][key] == "1", key
    assert before["ntp_synchronized"] == "no"
    assert before["clock_read"] == "no"  # pi_prereq's read of the clock agrees (round seventeen)
    assert after["ntp_synchronized"] == "yes", after
    assert after["clock_read"] == "yes", after
    assert after["ntp_server"] == bridge_address(SUBNET), after
