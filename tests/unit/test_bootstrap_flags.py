"""`pi-k8s bootstrap` checks its own flags and the inventory's asks before Ansible starts.

Ansible is replaced by a runner that raises ``AnsibleStarted``: a refused flag must end
with its exit code and hint and no ``AnsibleStarted``; an accepted one reaches the runner
(its "Unexpected error: AnsibleStarted" proves that, exit 1) with the extravars it got.
The airgap directories are built by tests/standin/build.py, laid out like a k3s release.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, NoReturn

import build as standin  # tests/standin/build.py, on sys.path through tests/conftest.py
import pytest
from typer.testing import CliRunner

from pi_k8s.cli import app

runner = CliRunner(env={"COLUMNS": "200"})


class AnsibleStarted(Exception):
    """Raised by the stand-in runner: bootstrap got as far as starting Ansible."""


@pytest.fixture
def ansible(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    calls: list[dict[str, Any]] = []

    def run_playbook(playbook: str, **kwargs: Any) -> NoReturn:
        calls.append(kwargs)
        raise AnsibleStarted(playbook)

    monkeypatch.setattr("pi_k8s.runner.run_playbook", run_playbook)
    return calls


def _inventory(tmp_path: Path, hosts: dict[str, str | None], extra_vars: str = "") -> Path:
    """A hand-written inventory; each host's pi_k8s_arch (None: not set)."""
    lines = ["all:", "  children:", "    k3s_cluster:", "      children:", "        server:"]
    lines.append("          hosts:")
    for name, arch in hosts.items():
        lines.append(f"            {name}:")
        lines.append("              ansible_host: 10.213.0.10")
        if arch:
            lines.append(f"              pi_k8s_arch: {arch}")
    lines += ["        agent:", "          hosts: {}"]
    if extra_vars:
        lines += ["      vars:", *(f"        {v}" for v in extra_vars.splitlines())]
    path = tmp_path / "hosts.yml"
    path.write_text("\n".join(lines) + "\n")
    return path


def _bootstrap(inventory: Path, *args: str) -> Any:
    return runner.invoke(app, ["bootstrap", "-i", str(inventory), "--no-verify", *args])


def _refused(result: Any, code: int, *texts: str) -> None:
    assert result.exit_code == code, result.output
    assert "AnsibleStarted" not in result.output
    for text in texts:
        assert text in result.stderr, result.stderr


@pytest.mark.parametrize(
    "version", ["1.31.4+k3s1", "v1.31.4", "v1.31.4+k3s", "latest", "v2.1.0+k3s1"]
)
def test_bad_k3s_version_is_refused_before_ansible(
    tmp_path: Path, ansible: list[dict[str, Any]], version: str
) -> None:
    result = _bootstrap(_inventory(tmp_path, {"pi-a": "aarch64"}), "--k3s-version", version)
    _refused(result, 2, f"--k3s-version {version!r} is not a k3s release tag", "v1.NN.N+k3sN")
    assert ansible == []


@pytest.mark.parametrize("channel", ["beta", "v1", "v1.31.4", "Stable", ""])
def test_bad_k3s_channel_is_refused_before_ansible(
    tmp_path: Path, ansible: list[dict[str, Any]], channel: str
) -> None:
    result = _bootstrap(_inventory(tmp_path, {"pi-a": "aarch64"}), "--k3s-channel", channel)
    if channel == "":  # an empty value means "not given": no check, no refusal
        assert ansible != []
        return
    _refused(result, 2, f"--k3s-channel {channel!r} is not a k3s release channel", "testing")
    assert ansible == []


@pytest.mark.parametrize("url", ["ftp://mirror.lan/k3s", "mirror.lan/k3s", "http://", "/srv/k3s"])
def test_bad_mirror_is_refused_before_ansible(
    tmp_path: Path, ansible: list[dict[str, Any]], url: str
) -> None:
    result = _bootstrap(_inventory(tmp_path, {"pi-a": "aarch64"}), "--mirror", url)
    _refused(result, 2, f"--mirror {url!r} is not an http(s) URL", "http://mirror.lan/k3s")
    assert ansible == []


@pytest.mark.parametrize(
    "flags",
    [
        ["--k3s-version", "v1.31.4+k3s1"],
        ["--k3s-version", "v1.32.0-rc1+k3s1"],
        ["--k3s-channel", "testing"],
        ["--k3s-channel", "v1.31"],
        ["--mirror", "https://mirror.lan/k3s/"],
    ],
)
def test_good_flags_reach_ansible(
    tmp_path: Path, ansible: list[dict[str, Any]], flags: list[str]
) -> None:
    result = _bootstrap(_inventory(tmp_path, {"pi-a": "aarch64"}), *flags)
    assert "Unexpected error: AnsibleStarted: site.yml" in result.stderr, result.output
    assert len(ansible) == 1


def test_airgap_that_is_not_a_directory_is_refused(
    tmp_path: Path, ansible: list[dict[str, Any]]
) -> None:
    result = _bootstrap(_inventory(tmp_path, {"pi-a": "aarch64"}), "--airgap", str(tmp_path / "no"))
    _refused(result, 2, f"--airgap {tmp_path / 'no'} is not a directory")
    assert ansible == []


def _release(tmp_path: Path, keep: set[str]) -> Path:
    """A stand-in release with only the files in ``keep``."""
    d = standin.build_airgap(tmp_path / "airgap")
    for f in d.iterdir():
        if f.name not in keep:
            f.unlink()
    return d


ARM64_ONLY = {"k3s-arm64", "sha256sum-arm64.txt"}


def test_airgap_missing_an_inventory_arch_is_refused(
    tmp_path: Path, ansible: list[dict[str, Any]]
) -> None:
    inventory = _inventory(tmp_path, {"pi-a": "aarch64", "pi-old": "armv7l"})
    result = _bootstrap(inventory, "--airgap", str(_release(tmp_path, ARM64_ONLY)))
    _refused(result, 2, "arm (pi-old): no k3s-armhf and no sha256sum-arm.txt", "k3s-armhf")
    assert "arm64 (" not in result.stderr  # arm64 is complete
    assert ansible == []


def test_airgap_binary_without_its_checksum_line_is_refused(
    tmp_path: Path, ansible: list[dict[str, Any]]
) -> None:
    d = _release(tmp_path, ARM64_ONLY)
    sums = d / "sha256sum-arm64.txt"
    sums.write_text(
        "".join(line + "\n" for line in sums.read_text().splitlines() if "k3s-arm64" not in line)
    )
    result = _bootstrap(_inventory(tmp_path, {"pi-a": "aarch64"}), "--airgap", str(d))
    _refused(result, 2, "arm64 (pi-a): no the k3s-arm64 line in sha256sum-arm64.txt")
    assert ansible == []


def test_airgap_for_hosts_of_unknown_arch_needs_every_arch(
    tmp_path: Path, ansible: list[dict[str, Any]]
) -> None:
    inventory = _inventory(tmp_path, {"pi-a": None})
    result = _bootstrap(inventory, "--airgap", str(_release(tmp_path, ARM64_ONLY)))
    _refused(
        result,
        2,
        "amd64 (pi-a: arch unknown): no k3s and no sha256sum-amd64.txt",
        "arm (pi-a: arch unknown): no k3s-armhf",
        "set pi_k8s_arch",
    )
    assert ansible == []


def test_airgap_with_what_the_hosts_need_reaches_ansible(
    tmp_path: Path, ansible: list[dict[str, Any]]
) -> None:
    d = _release(tmp_path, ARM64_ONLY)
    result = _bootstrap(_inventory(tmp_path, {"pi-a": "aarch64"}), "--airgap", str(d))
    assert "Unexpected error: AnsibleStarted" in result.stderr, result.output
    assert ansible[0]["extravars"]["cluster_k3s_airgap_dir"] == str(d.resolve())


def test_a_full_release_serves_hosts_of_unknown_arch(
    tmp_path: Path, ansible: list[dict[str, Any]]
) -> None:
    d = standin.build_airgap(tmp_path / "airgap")
    result = _bootstrap(_inventory(tmp_path, {"pi-a": None}), "--airgap", str(d))
    assert "Unexpected error: AnsibleStarted" in result.stderr, result.output


def test_inventory_with_a_metallb_pool_goes_on_to_ansible(
    tmp_path: Path, ansible: list[dict[str, Any]]
) -> None:
    result = _bootstrap(
        _inventory(
            tmp_path,
            {"pi-a": "aarch64"},
            extra_vars="cluster_lb_pool: 10.213.0.240/28\ncluster_lb: metallb",
        )
    )
    assert "Unexpected error: AnsibleStarted" in result.stderr, result.output


def test_inventory_pool_with_servicelb_is_refused(
    tmp_path: Path, ansible: list[dict[str, Any]]
) -> None:
    result = _bootstrap(
        _inventory(tmp_path, {"pi-a": "aarch64"}, extra_vars="cluster_lb_pool: 10.213.0.240/28")
    )
    _refused(
        result,
        3,
        "cluster_lb_pool 10.213.0.240/28 is set but cluster_lb is servicelb",
        "hint: Set cluster_lb: metallb to hand out the pool",
    )
    assert ansible == []


@pytest.mark.parametrize(
    ("var", "message", "hint"),
    [
        (
            "cluster_api_vip: 10.213.0.300",
            "cluster_api_vip '10.213.0.300' is not an IPv4 address",
            "hint: Give a free address",
        ),
        (
            "cluster_api_vip: 10.213.0.10",
            "cluster_api_vip 10.213.0.10 is the address of pi-a",
            "hint: The VIP must be a free address",
        ),
        (
            "cluster_api_vip: 10.213.0.150\ncluster_dhcp_range: 10.213.0.100-10.213.0.199",
            "cluster_api_vip 10.213.0.150 is inside cluster_dhcp_range 10.213.0.100-10.213.0.199",
            "hint: The DHCP server could hand the VIP to another host",
        ),
    ],
)
def test_a_vip_that_cannot_work_is_refused_before_ansible(
    tmp_path: Path, ansible: list[dict[str, Any]], var: str, message: str, hint: str
) -> None:
    result = _bootstrap(_inventory(tmp_path, {"pi-a": "aarch64"}, extra_vars=var))
    _refused(result, 3, message, hint)
    assert ansible == []


def test_a_good_vip_reaches_ansible(tmp_path: Path, ansible: list[dict[str, Any]]) -> None:
    result = _bootstrap(
        _inventory(tmp_path, {"pi-a": "aarch64"}, extra_vars="cluster_api_vip: 10.213.0.250")
    )
    assert "Unexpected error: AnsibleStarted" in result.stderr, result.output
