"""What a user checks after pi_prereq: the kernel command line, swap, modules, sysctls."""

from __future__ import annotations

from typing import Any

import pytest

from pi_k8s import pi_identity

FLAGS = ("cgroup_memory=1", "cgroup_enable=memory")


def is_pi(host: Any) -> bool:
    return bool(host.file("/sys/firmware/devicetree/base/model").exists)


def test_cmdline_has_cgroup_flags_exactly_once(host: Any) -> None:
    if not is_pi(host):
        pytest.skip("not a Raspberry Pi")
    text = host.file("/boot/firmware/cmdline.txt").content_string
    assert text.endswith("\n") and text.count("\n") == 1, repr(text)
    words = text.split()
    for flag in FLAGS:
        assert words.count(flag) == 1, text
    # Everything that was there before is still there, in order, before our flags.
    assert words[: -len(FLAGS)] == pi_identity.CMDLINE_TXT.split()


def test_placeholder_cmdline_untouched(host: Any) -> None:
    if not is_pi(host):
        pytest.skip("not a Raspberry Pi")
    placeholder = host.file("/boot/cmdline.txt")
    assert placeholder.content_string == pi_identity.boot_placeholder("cmdline.txt")


def test_reboot_asked_for_once(host: Any) -> None:
    """converge changed cmdline.txt once; the idempotence run must not ask again."""
    count = host.file("/var/lib/pi-k8s/reboot-count")
    if not is_pi(host):
        assert not count.exists
        return
    assert count.content_string.strip() == "1"
    assert host.file("/var/lib/pi-k8s/reboot-required").exists


def test_non_pi_has_no_boot_files(host: Any) -> None:
    if is_pi(host):
        pytest.skip("a Raspberry Pi")
    assert not host.file("/boot/firmware/cmdline.txt").exists


def test_dphys_swapfile_makes_no_swap(host: Any) -> None:
    conf = host.file("/etc/dphys-swapfile")
    if not is_pi(host):
        assert not conf.exists
        return
    lines = [ln for ln in conf.content_string.splitlines() if ln.startswith("CONF_SWAPSIZE")]
    assert lines == ["CONF_SWAPSIZE=0"]


def test_kernel_modules_persisted(host: Any) -> None:
    conf = host.file("/etc/modules-load.d/k3s.conf")
    assert conf.mode == 0o644
    modules = [
        ln.strip()
        for ln in conf.content_string.splitlines()
        if ln.strip() and not ln.startswith("#")
    ]
    assert modules == ["br_netfilter", "overlay"]


SYSCTLS = {
    "net.ipv4.ip_forward": "1",
    "net.bridge.bridge-nf-call-iptables": "1",
    "net.bridge.bridge-nf-call-ip6tables": "1",
}


def test_sysctls_set_in_the_running_kernel(host: Any) -> None:
    """prepare.yml set them to 0 in each host's network namespace; the role set them back."""
    for key, want in SYSCTLS.items():
        assert host.file("/proc/sys/" + key.replace(".", "/")).content_string.strip() == want, key


def test_sysctls_persisted(host: Any) -> None:
    conf = host.file("/etc/sysctl.d/90-k3s.conf")
    assert conf.mode == 0o644
    settings = dict(
        (part.strip() for part in ln.split("=", 1))
        for ln in conf.content_string.splitlines()
        if ln.strip() and not ln.startswith("#")
    )
    assert settings == SYSCTLS
