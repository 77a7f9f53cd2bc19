"""The files that make a test host look like a Pi, in the shapes a real Pi has."""

from __future__ import annotations

from pi_k8s import pi_identity


def test_devicetree_files_are_nul_terminated_like_the_kernels() -> None:
    profile = pi_identity.PI_PROFILES[0]
    files = pi_identity.devicetree_files(profile, "tb/rpi-1")
    assert files["model"] == b"Raspberry Pi 4 Model B Rev 1.5\0"
    assert files["compatible"] == b"raspberrypi,4-model-b\0brcm,bcm2711\0"
    assert files["serial-number"].startswith(b"10000000") and files["serial-number"][-1:] == b"\0"


def test_revision_codes_encode_model_and_memory() -> None:
    mem = {0: 256, 1: 512, 2: 1024, 3: 2048, 4: 4096, 5: 8192}
    for profile in pi_identity.PI_PROFILES:
        code = int(profile.revision, 16)
        assert (code >> 23) & 1 == 1, profile
        assert mem[(code >> 20) & 7] == profile.memory_mb, profile


def test_macs_are_stable_and_under_the_profiles_oui() -> None:
    a = pi_identity.mac_address("dc:a6:32", "tb/rpi-1")
    assert a == pi_identity.mac_address("dc:a6:32", "tb/rpi-1")
    assert a.startswith("dc:a6:32:") and len(a) == 17
    assert a != pi_identity.mac_address("dc:a6:32", "tb/rpi-2")


def test_cmdline_txt_is_one_line_without_cgroup_flags() -> None:
    text = pi_identity.CMDLINE_TXT
    assert text.count("\n") == 1 and text.endswith("\n")
    assert "cgroup" not in text


def test_cpuinfo_gets_the_pi_trailer() -> None:
    text = pi_identity.cpuinfo("processor\t: 0\n", pi_identity.PI_PROFILES[1], "x")
    assert "Revision\t: d04170\n" in text
    assert "Model\t\t: Raspberry Pi 5 Model B Rev 1.0\n" in text


def test_meminfo_reports_the_boards_ram() -> None:
    host = "MemTotal:       24684084 kB\nMemFree:        20000000 kB\nMemAvailable:   22000000 kB\n"
    text = pi_identity.meminfo(host, 2048)
    total = int(text.splitlines()[0].split()[1])
    assert 1800 * 1024 < total < 2048 * 1024
    free = int(text.splitlines()[1].split()[1])
    assert free < total


def test_boot_placeholders_point_to_the_firmware_dir() -> None:
    files = pi_identity.boot_files()
    assert "moved to /boot/firmware/cmdline.txt" in files["/boot/cmdline.txt"]
    assert files["/etc/dphys-swapfile"].count("CONF_SWAPSIZE=512") == 1
