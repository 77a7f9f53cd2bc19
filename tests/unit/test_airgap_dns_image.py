"""bootstrap --airgap never fails a good install because verify's DNS pod cannot pull.

An offline LAN cannot pull busybox:1.36. k3s releases ship ``k3s-images.txt`` beside
their ``k3s-airgap-images-<arch>.tar.zst``; the list names the busybox image k3s itself
uses (k3s's scripts/airgap/image-list.txt: ``docker.io/rancher/mirrored-library-busybox``,
``library-busybox`` in older releases). The image lists below are hand-written in that
shape, one image reference per line.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from pi_k8s import release, runner, verify
from pi_k8s.cli import app

K3S_IMAGES = """\
docker.io/rancher/klipper-helm:v0.9.3-build20241008
docker.io/rancher/klipper-lb:v0.4.9
docker.io/rancher/local-path-provisioner:v0.0.30
docker.io/rancher/mirrored-coredns-coredns:1.11.3
docker.io/rancher/mirrored-library-busybox:1.36.1
docker.io/rancher/mirrored-library-traefik:2.11.10
docker.io/rancher/mirrored-metrics-server:v0.7.2
docker.io/rancher/mirrored-pause:3.6
"""


def airgap(tmp_path: Path, images: str | None, archive: bool = True) -> Path:
    d = tmp_path / "airgap"
    d.mkdir()
    if archive:
        (d / "k3s-airgap-images-amd64.tar.zst").write_bytes(b"\0")
    if images is not None:
        (d / "k3s-images.txt").write_text(images)
    return d


def test_the_release_image_lists_busybox_is_used(tmp_path: Path) -> None:
    image, why = release.airgap_dns_image(airgap(tmp_path, K3S_IMAGES))
    assert (image, why) == ("docker.io/rancher/mirrored-library-busybox:1.36.1", "")


def test_an_older_release_list_still_finds_busybox(tmp_path: Path) -> None:
    old = "docker.io/rancher/coredns-coredns:1.8.3\ndocker.io/rancher/library-busybox:1.31.1\n"
    assert release.airgap_dns_image(airgap(tmp_path, old))[0] == (
        "docker.io/rancher/library-busybox:1.31.1"
    )


@pytest.mark.parametrize(
    ("images", "archive", "why"),
    [
        (None, True, "has no k3s-airgap-images-<arch>.tar* with its k3s-images.txt"),
        (K3S_IMAGES, False, "has no k3s-airgap-images-<arch>.tar* with its k3s-images.txt"),
        ("docker.io/rancher/mirrored-pause:3.6\n", True, "k3s-images.txt lists no busybox"),
    ],
    ids=["no-list", "no-archive", "no-busybox"],
)
def test_no_usable_image_says_why(
    tmp_path: Path, images: str | None, archive: bool, why: str
) -> None:
    image, reason = release.airgap_dns_image(airgap(tmp_path, images, archive))
    assert image is None
    assert why in reason and "offline LAN cannot pull" in reason


class Server:
    """A server's testinfra host that records commands (no API server runs pods here)."""

    def __init__(self) -> None:
        self.commands: list[str] = []

    def run(self, command: str) -> object:
        self.commands.append(command)
        return type("R", (), {"rc": 1, "stdout": "", "stderr": "error: no pods here"})()


def test_check_dns_runs_the_given_image() -> None:
    server = Server()
    verify.check_dns(server, "rpi-1", "docker.io/rancher/mirrored-library-busybox:1.36.1")
    assert "--image=docker.io/rancher/mirrored-library-busybox:1.36.1" in server.commands[0]


def test_check_dns_without_an_image_warns_and_runs_nothing() -> None:
    server = Server()
    result = verify.check_dns(server, "rpi-1", None, "no busybox in the airgap dir")
    assert server.commands == []
    assert (result.name, result.status) == ("cluster DNS", "warn")
    assert result.detail == "not checked: no busybox in the airgap dir"
    assert "k3s-images.txt" in result.hint


@pytest.mark.parametrize(
    ("images", "expected"),
    [
        (K3S_IMAGES, "docker.io/rancher/mirrored-library-busybox:1.36.1"),
        ("docker.io/rancher/mirrored-pause:3.6\n", None),
    ],
)
def test_bootstrap_airgap_hands_verify_the_airgap_image_or_none(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, images: str, expected: str | None
) -> None:
    ok = runner.RunResult("site.yml", "successful", 0, tmp_path)
    monkeypatch.setattr("pi_k8s.runner.run_playbook", lambda *a, **k: ok)
    seen: list[dict[str, Any]] = []

    def fake_verify(inventory: Path, **kwargs: Any) -> verify.VerifyReport:
        seen.append(kwargs)
        return verify.VerifyReport([verify.CheckResult("pi-a", "cluster DNS", "pass")])

    monkeypatch.setattr("pi_k8s.verify.verify", fake_verify)
    d = airgap(tmp_path, images)
    (d / "k3s").write_bytes(b"binary")
    (d / "sha256sum-amd64.txt").write_text(f"{'0' * 64}  k3s\n")
    inv = tmp_path / "hosts.yml"
    inv.write_text(
        yaml.safe_dump(
            {
                "all": {
                    "children": {
                        "k3s_cluster": {
                            "children": {
                                "server": {"hosts": {"pi-a": {"pi_k8s_arch": "amd64"}}},
                                "agent": {"hosts": {}},
                            },
                            "vars": {"cluster_k3s_version": "v1.31.4+k3s1"},
                        }
                    }
                }
            }
        )
    )
    result = CliRunner().invoke(app, ["bootstrap", "-i", str(inv), "--airgap", str(d)])
    assert result.exit_code == 0, result.output
    assert [s["dns_image"] for s in seen] == [expected]
    if expected is None:
        assert "lists no busybox" in seen[0]["dns_why_not"]


def test_bootstrap_without_airgap_pulls_the_default_image(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ok = runner.RunResult("site.yml", "successful", 0, tmp_path)
    monkeypatch.setattr("pi_k8s.runner.run_playbook", lambda *a, **k: ok)
    seen: list[dict[str, Any]] = []

    def fake_verify(inventory: Path, **kwargs: Any) -> verify.VerifyReport:
        seen.append(kwargs)
        return verify.VerifyReport([])

    monkeypatch.setattr("pi_k8s.verify.verify", fake_verify)
    inv = tmp_path / "hosts.yml"
    inv.write_text(
        yaml.safe_dump(
            {
                "all": {
                    "children": {"k3s_cluster": {"children": {"server": {"hosts": {"pi-a": {}}}}}}
                }
            }
        )
    )
    result = CliRunner().invoke(app, ["bootstrap", "-i", str(inv)])
    assert result.exit_code == 0, result.output
    assert [s["dns_image"] for s in seen] == [verify.DNS_SMOKE_IMAGE]
