"""pi_prereq + bootstrap + verify on one x86_64 test VM, as a Pi starts.

``make test`` runs this module in its last phase, ``vm`` (``make test-vm-ci`` runs that
phase alone; marker ``vm_ci``); ``make test-vm`` runs the 2-VM one. The VM has its own
kernel (QEMU, TCG on machines without KVM) and starts as Raspberry Pi OS does:
dphys-swapfile's /var/swap active, cmdline.txt without the cgroup flags,
systemd-timesyncd on. Its NTP server is the test's chronyd on the bridge (tests/vm/ntp.py),
given to the role through ``pi_prereq_ntp_servers``; the role waits for the clock with
its real timeout. ``pi-k8s bootstrap`` runs ``verify`` (no ``--no-verify``). k3s is the
stand-in (tests/standin/), installed through the airgap path.

Debian's kernel has the memory controller on whatever the command line says (only the
Raspberry Pi kernel knows ``cgroup_enable=``), so the memory assertion holds here even
without the role's flags; the flags themselves are asserted in /proc/cmdline."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from pi_k8s import testbed as tb
from tests.conftest import bootstrap_result, run_bootstrap
from tests.integration.test_bootstrap import recap
from tests.vm.conftest import bridge_address, host, make_vms, vm_testbed, write_inventory
from tests.vm.pi_state import MODULES, SYSCTLS, pi_state

pytestmark = pytest.mark.vm_ci

NAME, SUBNET = vm_testbed("vmci", "10.213.122.0/24")
VM = "rpi-1"
FLAGS = ("cgroup_memory=1", "cgroup_enable=memory")
WAIT_TASK = "Wait until the clock reports it is synchronised."


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory, home: Path, airgap: Path) -> Iterator[dict]:
    """One VM (a server), bootstrapped twice, then once more after timesyncd was stopped
    (drift a no-op run repairs); its state read before and after each run.

    Both runs use --fast (Mitogen: one Python on the VM for the run instead of one per
    task, which TCG makes slow; 3 minutes for the first run against about 10 without).
    The first runs bootstrap's own verify (its report comes in the --json output); the
    second and third, which only have to change nothing or repair the drift, skip it."""
    started = time.monotonic()
    for bed in make_vms(NAME, SUBNET, nodes=1, arch="x86_64"):
        inv = write_inventory(bed, SUBNET, [VM], [], tmp_path_factory.mktemp("inv") / "h.yml")
        h = host(bed, VM)
        # SSH answers before the boot is over: dphys-swapfile turns /var/swap on seconds
        # later (it writes the file first). Wait for systemd to finish starting up.
        h.run("systemctl is-system-running --wait")
        before = pi_state(h)
        first = bootstrap_result(inv, airgap, "--json", "--fast")
        after_first = pi_state(h)
        ok = first.exit_code == 0
        second = (
            run_bootstrap(inv, airgap, "--fast", "--no-verify") if ok else (None, "first failed")
        )
        after_second = pi_state(h)
        # Drift the read must see although the time-sync tasks are skipped when nothing
        # is due: timesyncd stopped.
        h.check_output("sudo systemctl stop systemd-timesyncd")
        third = bootstrap_result(inv, airgap, "--json", "--fast", "--no-verify") if ok else None
        after_third = pi_state(h)
        yield {
            "bed": bed,
            "inventory": inv,
            "before": before,
            "first": (first.exit_code, first.output),
            "first_json": json.loads(first.stdout) if ok else None,
            "after_first": after_first,
            "second": second,
            "after_second": after_second,
            "third": third,
            "third_active": h.run("systemctl is-active systemd-timesyncd").stdout.strip(),
            "after_third": after_third,
            "seconds": time.monotonic() - started,
        }


def test_the_vm_starts_as_a_fresh_pi_os(run: dict) -> None:
    """What the role must change is there to change (else the checks below prove nothing)."""
    before = run["before"]
    assert before["swaps"] == ["/var/swap"]
    assert before["dphys_swapfile"] == "enabled"
    assert not any(flag in before["cmdline"] for flag in FLAGS), before["cmdline"]
    assert before["sysctls"]["net.ipv4.ip_forward"] == "0"
    # No time server answers the VM before the role names one.
    assert before["ntp_synchronized"] == "no"
    assert before["clock_read"] == "no"  # pi_prereq's read of the clock agrees (round seventeen)


def test_bootstrap_with_verify_succeeds(run: dict) -> None:
    code, output = run["first"]
    assert code == 0, output
    # verify ran (not --no-verify) and passed; the role's wait ran and was not skipped.
    report = run["first_json"]["verify"]
    assert report is not None and report["ok"], report
    assert any(r["host"] == VM for r in report["results"]), report
    assert WAIT_TASK in output, output


def test_exactly_one_real_reboot(run: dict) -> None:
    assert run["after_first"]["boot_id"] != run["before"]["boot_id"]
    boots = tb.testbed_dir(NAME) / "vms" / VM / "boots.log"
    assert len([line for line in boots.read_text().splitlines() if '"append"' in line]) == 2


def test_cgroup_flags_once_in_proc_cmdline_and_memory_controller_on(run: dict) -> None:
    after = run["after_first"]
    for flag in FLAGS:
        assert after["cmdline"].count(flag) == 1, after["cmdline"]
    assert "memory" in after["controllers"], after["controllers"]


def test_swap_is_off_and_dphys_swapfile_disabled(run: dict) -> None:
    assert run["after_first"]["swaps"] == []
    assert run["after_first"]["dphys_swapfile"] == "disabled"


def test_modules_are_loaded_or_built_in(run: dict) -> None:
    for module in MODULES:
        assert run["after_first"]["modules"][module] in ("loaded", "built in"), module


def test_sysctls_are_one(run: dict) -> None:
    for key in SYSCTLS:
        assert run["after_first"]["sysctls"][key] == "1", key


def test_clock_synchronised_from_the_bridge_ntp_server(run: dict) -> None:
    after = run["after_first"]
    assert after["ntp_synchronized"] == "yes", after
    assert after["clock_read"] == "yes", after
    assert after["ntp_server"] == bridge_address(SUBNET), after


def test_verify_host_checks_all_pass_on_cgroup_v2(run: dict) -> None:
    assert run["first_json"] is not None, run["first"][1]
    report = run["first_json"]["verify"]
    results = {r["name"]: r for r in report["results"] if r["host"] == VM}
    assert report["ok"], [r for r in report["results"] if r["status"] == "fail"]
    assert results["cgroup controllers"]["detail"] == "cgroup v2: cpu cpuset memory"
    assert results["swap off"]["detail"] == "no swap"
    assert results["time synchronised"]["detail"] == "NTP synchronised"
    for module in MODULES:
        assert results[f"module {module}"]["status"] == "pass"
    for key in SYSCTLS:
        assert results[f"sysctl {key}"]["status"] == "pass"


def test_second_run_changes_nothing_and_does_not_reboot(run: dict) -> None:
    code, output = run["second"]
    assert code == 0, output
    assert recap(output)[VM]["changed"] == 0, output
    assert run["after_second"]["boot_id"] == run["after_first"]["boot_id"]
    # The read found timesyncd on, its drop-in as given and the clock synchronised: the
    # time-sync tasks are skipped as one include (issue 18), the wait among them.
    assert WAIT_TASK not in output, output


def test_a_stopped_timesyncd_is_started_again_by_a_no_op_run(run: dict) -> None:
    third = run["third"]
    assert third is not None and third.exit_code == 0, third and third.output
    changes = json.loads(third.stdout)["run"]["changes"]
    assert changes == {VM: ["Ensure systemd-timesyncd is enabled and running."]}, changes
    assert run["third_active"] == "active"
    assert run["after_third"]["ntp_synchronized"] == "yes", run["after_third"]
    assert run["after_third"]["boot_id"] == run["after_first"]["boot_id"]
