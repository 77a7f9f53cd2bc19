"""tests/standin/fetch_release.py: pi-k8s's default source, laid out as an airgap dir.

The script runs only in e2e.yml (a runner with internet). Here it fetches from a fake
release tree through ``file://`` URLs, so nothing leaves the machine.
"""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests" / "standin"))

import fetch_release  # noqa: E402  (tests/standin/fetch_release.py, not a package)

VERSION = "v1.31.4+k3s1"


def fake_tree(base: Path, *, wrong: str = "") -> Path:
    """``base/<version>/`` as the release page serves it: assets and their checksums."""
    rel = base / VERSION
    rel.mkdir(parents=True)
    files = {
        "k3s": b"ELF k3s",
        "k3s-airgap-images-amd64.tar.zst": b"zstd",
        "k3s-images.txt": b"docker.io/rancher/mirrored-library-busybox:1.36.1\n",
    }
    for name, data in files.items():
        (rel / name).write_bytes(data)
    sums = "".join(
        f"{hashlib.sha256(b'x' if name == wrong else data).hexdigest()}  {name}\n"
        for name, data in files.items()
        if name != "k3s-images.txt"  # the image list is not in the checksum file
    )
    (rel / "sha256sum-amd64.txt").write_text(sums)
    return base


def test_the_urls_are_the_roles_own_defaults() -> None:
    role = yaml.safe_load((REPO / "roles/k3s_install/defaults/main.yml").read_text())
    assert fetch_release.role_defaults() == {
        "release_url": role["k3s_install_release_url"],
        "channel_url": role["k3s_install_channel_url"],
    }
    # As the role's get_url builds it: <base>/<version | urlencode>/<asset>.
    assert fetch_release.asset_url("https://h/dl/", VERSION, "k3s") == (
        "https://h/dl/v1.31.4%2Bk3s1/k3s"
    )


def test_a_release_is_laid_out_as_an_airgap_dir(tmp_path: Path) -> None:
    base = fake_tree(tmp_path / "srv")
    out = fetch_release.fetch(tmp_path / "dest", VERSION, images=True, release_url=f"file://{base}")
    assert out == tmp_path / "dest" / VERSION
    assert sorted(p.name for p in out.iterdir()) == [
        "k3s",
        "k3s-airgap-images-amd64.tar.zst",
        "k3s-images.txt",
        "sha256sum-amd64.txt",
    ]
    assert (out / "k3s").stat().st_mode & 0o111
    assert (out / "k3s").read_bytes() == b"ELF k3s"


def test_a_checksum_mismatch_is_refused_and_the_file_removed(tmp_path: Path) -> None:
    base = fake_tree(tmp_path / "srv", wrong="k3s")
    with pytest.raises(fetch_release.FetchError, match=r"k3s of v1\.31\.4\+k3s1"):
        fetch_release.fetch(tmp_path / "dest", VERSION, release_url=f"file://{base}")
    assert not (tmp_path / "dest" / VERSION / "k3s").exists()


def test_without_a_version_the_channel_is_resolved_as_pi_k8s_does(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    asked: list[tuple[str, str]] = []

    def resolve(channel: str, url: str) -> str:
        asked.append((channel, url))
        return VERSION

    monkeypatch.setattr(fetch_release.k3s_versions, "resolve_channel", resolve)
    base = fake_tree(tmp_path / "srv")
    out = fetch_release.fetch(tmp_path / "dest", release_url=f"file://{base}")
    assert out.name == VERSION
    assert asked == [("stable", fetch_release.role_defaults()["channel_url"])]


def test_a_bad_version_exits_1_with_a_message(capsys: pytest.CaptureFixture[str]) -> None:
    assert fetch_release.main(["/nonexistent", "--version", "1.31"]) == 1
    assert "is not a k3s release tag" in capsys.readouterr().err
