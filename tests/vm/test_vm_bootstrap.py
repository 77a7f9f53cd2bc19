"""pi_prereq + bootstrap + verify on 2 x86_64 test VMs: the reboot path for real.

What containers cannot show and these VMs do: cmdline.txt edited by pi_prereq, a real
reboot through the testbed's launcher (which boots the kernel with that file's line),
the flags in the new kernel's /proc/cmdline, swap turned off, modules and sysctls in the
VMs' own kernel, the clock synchronised from the test's NTP server on the bridge
(tests/vm/ntp.py, ``pi_prereq_ntp_servers``), verify's checks, and a second run that
does not reboot. k3s itself is the stand-in (tests/standin/), installed through the
airgap path. ``test_vm_ci.py`` checks the same on one VM in every CI run.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from pi_k8s import testbed as tb
from pi_k8s.testbed import qemu as tbq
from tests.conftest import run_bootstrap
from tests.integration.test_bootstrap import recap
from tests.vm.conftest import bridge_address, host, make_vms, vm_testbed, write_inventory
from tests.vm.pi_state import MODULES, SYSCTLS, pi_state, swaps

pytestmark = pytest.mark.vm

NAME, SUBNET = vm_testbed("vmtest", "10.213.16.0/24")
HOSTS = ("rpi-1", "rpi-2")
FLAGS = ("cgroup_memory=1", "cgroup_enable=memory")


def bootstrap(inventory: Path, airgap: Path, *extra: str) -> tuple[int, str]:
    """``pi-k8s bootstrap``, verify included: the VMs' clock syncs from the bridge. This
    module runs it on Ansible's own strategy, the users' default (test_vm_ci.py and
    test_vm_arm64.py use --fast)."""
    return run_bootstrap(inventory, airgap, *extra)


def boot_id(bed: tb.Testbed, name: str) -> str:
    return host(bed, name).file("/proc/sys/kernel/random/boot_id").content_string.strip()


def active_swaps(bed: tb.Testbed, name: str) -> list[str]:
    return swaps(host(bed, name))


def boots(name: str) -> list[dict]:
    """The launcher's record of each VM boot (the -append it used)."""
    log = tb.testbed_dir(NAME) / "vms" / name / "boots.log"
    return [e for e in map(json.loads, log.read_text().splitlines()) if "append" in e]


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory, home: Path, airgap: Path) -> Iterator[dict]:
    """2 VMs, bootstrapped twice (1 server + 1 agent); boot ids taken around each run."""
    for bed in make_vms(NAME, SUBNET, nodes=2, arch="x86_64"):
        inv = write_inventory(
            bed, SUBNET, ["rpi-1"], ["rpi-2"], tmp_path_factory.mktemp("inv") / "h.yml"
        )
        before = {h: boot_id(bed, h) for h in HOSTS}
        # SSH answers before the boot is over: dphys-swapfile turns /var/swap on seconds
        # later (it writes 512 MB first). Wait for systemd to finish starting up.
        for h in HOSTS:
            host(bed, h).run("systemctl is-system-running --wait")
        swaps_before = {h: active_swaps(bed, h) for h in HOSTS}
        state_before = {h: pi_state(host(bed, h)) for h in HOSTS}
        first = bootstrap(inv, airgap)
        after_first = {h: boot_id(bed, h) for h in HOSTS}
        state_first = {h: pi_state(host(bed, h)) for h in HOSTS}
        boots_first = {h: len(boots(h)) for h in HOSTS}
        second = bootstrap(inv, airgap) if first[0] == 0 else (None, "first run failed")
        after_second = {h: boot_id(bed, h) for h in HOSTS}
        yield {
            "bed": bed,
            "first": first,
            "second": second,
            "before": before,
            "swaps_before": swaps_before,
            "state_before": state_before,
            "state_first": state_first,
            "after_first": after_first,
            "after_second": after_second,
            "boots_first": boots_first,
        }


def test_first_run_succeeds(cluster: dict) -> None:
    code, output = cluster["first"]
    assert code == 0, output


def test_role_rebooted_each_vm_once_through_the_launcher(cluster: dict) -> None:
    for name in HOSTS:
        assert cluster["after_first"][name] != cluster["before"][name], name
        assert cluster["boots_first"][name] == 2, boots(name)
        # The launcher's second boot used cmdline.txt as the role left it.
        assert all(flag in boots(name)[1]["append"].split() for flag in FLAGS)
        assert not any(flag in boots(name)[0]["append"].split() for flag in FLAGS)


def test_cgroup_flags_are_in_proc_cmdline_after_the_reboot(cluster: dict) -> None:
    for name in HOSTS:
        h = host(cluster["bed"], name)
        cmdline = h.file("/proc/cmdline").content_string.split()
        for flag in FLAGS:
            assert cmdline.count(flag) == 1, cmdline
        txt = h.file("/boot/firmware/cmdline.txt").content_string
        assert txt.count("\n") == 1
        # The kernel got the file's line, with serial0 mapped to the VM's UART.
        assert tbq.kernel_append(txt.strip(), "ttyS0").split() == cmdline
        assert "memory" in h.file("/sys/fs/cgroup/cgroup.controllers").content_string.split()


def test_second_run_does_not_reboot(cluster: dict) -> None:
    code, output = cluster["second"]
    assert code == 0, output
    assert {h: s["changed"] for h, s in recap(output).items()} == dict.fromkeys(HOSTS, 0), output
    assert cluster["after_second"] == cluster["after_first"]
    assert {h: len(boots(h)) for h in HOSTS} == cluster["boots_first"]


def test_swap_file_was_on_and_is_off_after_the_reboot(cluster: dict) -> None:
    for name in HOSTS:
        # The image boots with dphys-swapfile's /var/swap active, as Raspberry Pi OS does.
        assert cluster["swaps_before"][name] == ["/var/swap"], name
        h = host(cluster["bed"], name)
        # Off after the role's reboot: dphys-swapfile neither makes nor enables it again.
        assert active_swaps(cluster["bed"], name) == [], name
        assert "CONF_SWAPSIZE=0" in h.file("/etc/dphys-swapfile").content_string
        assert h.run("systemctl is-enabled dphys-swapfile").stdout.strip() == "disabled"


def test_modules_and_sysctls_in_the_vms_own_kernel(cluster: dict) -> None:
    for name in HOSTS:
        assert cluster["state_before"][name]["sysctls"]["net.ipv4.ip_forward"] == "0", name
        state = cluster["state_first"][name]
        for module in MODULES:
            assert state["modules"][module] in ("loaded", "built in"), (name, module)
        for key in SYSCTLS:
            assert state["sysctls"][key] == "1", (name, key)


def test_clock_synchronised_from_the_bridge_ntp_server(cluster: dict) -> None:
    output = cluster["first"][1]
    # The role waited (pi_prereq_time_sync_timeout is not 0) and verify ran.
    assert "Wait until the clock reports it is synchronised." in output, output
    for name in HOSTS:
        assert cluster["state_before"][name]["ntp_synchronized"] == "no", name
        state = cluster["state_first"][name]
        assert state["ntp_synchronized"] == "yes", (name, state)
        assert state["ntp_server"] == bridge_address(SUBNET), (name, state)


def test_uname_matches_and_the_binary_is_the_amd64_asset(cluster: dict, airgap: Path) -> None:
    want = hashlib.sha256((airgap / "k3s").read_bytes()).hexdigest()
    for name in HOSTS:
        h = host(cluster["bed"], name)
        assert h.check_output("uname -m") == "x86_64"
        assert h.file("/usr/local/bin/k3s").sha256sum == want
        version = h.check_output("/usr/local/bin/k3s --version")
        assert "stand-in" in version and "asset k3s)" in version, version


def test_vm_looks_like_a_pi(cluster: dict) -> None:
    bed = cluster["bed"]
    for spec in bed.hosts:
        h = host(bed, spec.name)
        model = h.file("/sys/firmware/devicetree/base/model").content_string.rstrip("\0")
        assert model == spec.model
        assert h.check_output("cat /sys/class/net/eth0/address") == spec.mac
        assert "Revision\t:" in h.file("/proc/cpuinfo").content_string
        assert h.check_output("hostname") == spec.name
    assert tbq.recorded_driver(NAME) == "qemu"
