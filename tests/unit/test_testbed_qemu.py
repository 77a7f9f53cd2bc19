"""Test VMs' pieces that need no VM: input errors, disk layout, initramfs, cmdline."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from pi_k8s import pi_identity
from pi_k8s import testbed as tb
from pi_k8s.cli import app
from pi_k8s.testbed import qemu as tbq
from pi_k8s.testbed.qemu import disk, image, initramfs, tools


def invoke(*args: str) -> tuple[int, str]:
    result = CliRunner(env={"COLUMNS": "200"}).invoke(app, list(args))
    return result.exit_code, result.output


def test_unknown_arch_is_a_usage_error_before_anything_starts() -> None:
    code, output = invoke("testbed", "up", "--driver", "qemu", "--arch", "riscv64", "--name", "u1")
    assert code == 2, output
    assert "Unknown --arch 'riscv64'" in output and "x86_64, arm64" in output
    assert not tb.testbed_dir("u1").exists()


def test_unknown_driver_is_a_usage_error() -> None:
    code, output = invoke("testbed", "up", "--driver", "vbox", "--name", "u2")
    assert code == 2, output
    assert "Unknown --driver 'vbox'" in output


def test_others_are_refused_for_vms() -> None:
    code, output = invoke("testbed", "up", "--driver", "qemu", "--others", "1", "--name", "u3")
    assert code == 2, output
    assert "--others is for container testbeds" in output


@pytest.mark.skipif(os.geteuid() != 0, reason="the root check comes first")
def test_missing_qemu_is_an_environment_problem_with_the_apt_hint(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    real = tools.shutil.which
    monkeypatch.setattr(
        tools.shutil, "which", lambda tool: None if tool.startswith("qemu-system") else real(tool)
    )
    code, output = invoke("testbed", "up", "--driver", "qemu", "--arch", "arm64", "--name", "u4")
    assert code == 6, output
    assert "qemu-system-aarch64" in output
    assert "apt-get install" in output and "qemu-system-arm" in output


@pytest.mark.skipif(os.geteuid() != 0, reason="the root check comes first")
def test_not_enough_memory_is_refused_before_anything_starts(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(tools.shutil, "which", lambda tool: f"/usr/bin/{tool}")
    monkeypatch.setattr(tools, "_mem_available_mb", lambda: 3000)
    code, output = invoke("testbed", "up", "--driver", "qemu", "--nodes", "3", "--name", "u5")
    assert code == 6, output
    assert "Not enough memory for 3 VM(s)" in output and "3000 MB is available" in output
    assert not (tb.testbed_dir("u5") / "driver").exists()


def test_kernel_append_maps_serial0_to_the_vm_uart_and_keeps_the_rest() -> None:
    line = pi_identity.CMDLINE_TXT.strip() + " cgroup_memory=1 cgroup_enable=memory"
    x86 = tbq.kernel_append(line, tbq.ARCHES["x86_64"].uart)
    assert x86.split()[0] == "console=ttyS0,115200"
    assert x86.split()[1:] == line.split()[1:]
    assert tbq.kernel_append(line, "ttyAMA0").startswith("console=ttyAMA0,115200 ")


def test_missing_cmdline_txt_still_boots_the_root_partition() -> None:
    assert "root=PARTUUID=4e639091-02" in tbq.kernel_append("", "ttyS0")


def test_mbr_carries_the_pi_os_disk_id_and_root_on_partition_2(tmp_path: Path) -> None:
    img = tmp_path / "d.img"
    size = 64 * 1024**2
    img.write_bytes(b"\0" * size)
    disk.write_mbr(img, size)
    mbr = img.read_bytes()[:512]
    assert mbr[510:512] == b"\x55\xaa"
    assert mbr[440:444].hex() == "9190634e"  # 0x4e639091, little-endian
    p2 = mbr[462:478]
    assert p2[4] == 0x83
    assert int.from_bytes(p2[8:12], "little") * 512 == tbq.ROOT_OFFSET


def test_cpio_is_newc_with_a_trailer() -> None:
    data = initramfs.cpio_newc([("init", 0o100755, b"#!/bin/sh\n", (0, 0))])
    assert data.startswith(b"070701")
    assert b"init\0" in data and b"TRAILER!!!\0" in data
    assert len(data) % 4 == 0


def test_module_closure_puts_dependencies_first(tmp_path: Path) -> None:
    (tmp_path / "modules.dep").write_text(
        "kernel/fs/ext4/ext4.ko: kernel/fs/jbd2/jbd2.ko kernel/fs/mbcache.ko\n"
        "kernel/fs/jbd2/jbd2.ko:\nkernel/fs/mbcache.ko:\n"
        "kernel/drivers/block/virtio_blk.ko:\n"
    )
    order = initramfs.module_closure(tmp_path, ("virtio_pci", "virtio_blk", "ext4"))
    assert order == [
        "kernel/drivers/block/virtio_blk.ko",
        "kernel/fs/jbd2/jbd2.ko",
        "kernel/fs/mbcache.ko",
        "kernel/fs/ext4/ext4.ko",
    ]


def test_image_name_changes_with_its_inputs(monkeypatch: pytest.MonkeyPatch) -> None:
    before = tbq.image_name(tbq.ARCHES["x86_64"])
    assert before != tbq.image_name(tbq.ARCHES["arm64"])
    monkeypatch.setattr(image, "VM_PACKAGES", (*image.VM_PACKAGES, "strace"))
    assert tbq.image_name(tbq.ARCHES["x86_64"]) != before


def test_status_of_a_testbed_that_never_ran_is_empty() -> None:
    bed = tbq.status("never")
    assert bed.hosts == []
    assert tbq.recorded_driver("never") == "container"
