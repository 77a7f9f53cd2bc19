"""plugins/filter/controller_files.py: controller files hashed and compared in the play's process.

k3s_install hashes an airgap archive with ``file_sha256`` only where it is about to copy it,
and k3s_kubeconfig skips its controller ``file``/``copy`` tasks where ``local_file_is`` says the
path already is as wanted; every testbed bootstrap runs both (tests/integration).
"""

from __future__ import annotations

import hashlib
import os
import sys
from pathlib import Path

import pytest
from ansible.errors import AnsibleFilterError

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "plugins" / "filter"))
from controller_files import FilterModule, file_sha256, local_file_is  # noqa: E402

sys.path.pop(0)


def test_file_sha256_matches_hashlib_across_chunks(tmp_path: Path) -> None:
    data = os.urandom((1 << 20) * 2 + 123)  # more than two read chunks
    path = tmp_path / "k3s-airgap-images-arm64.tar.zst"
    path.write_bytes(data)
    assert file_sha256(str(path)) == hashlib.sha256(data).hexdigest()


def test_file_sha256_of_a_missing_file_says_which(tmp_path: Path) -> None:
    with pytest.raises(AnsibleFilterError, match=r"cannot read .*nope"):
        file_sha256(str(tmp_path / "nope"))


def test_local_file_is_content_and_mode(tmp_path: Path) -> None:
    path = tmp_path / "config"
    path.write_text("apiVersion: v1\n")
    path.chmod(0o600)
    assert local_file_is(str(path), content="apiVersion: v1\n", mode="0600")
    assert not local_file_is(str(path), content="apiVersion: v2\n", mode="0600")
    path.chmod(0o644)  # drift in mode alone is a difference
    assert not local_file_is(str(path), content="apiVersion: v1\n", mode="0600")
    assert local_file_is(str(path), content="apiVersion: v1\n")


def test_local_file_is_kind(tmp_path: Path) -> None:
    d = tmp_path / "kube"
    assert not local_file_is(str(d), "directory", mode="0700")  # missing
    d.mkdir(mode=0o700)
    d.chmod(0o700)
    assert local_file_is(str(d), "directory", mode="0700")
    assert not local_file_is(str(d), "file")
    link = tmp_path / "link"
    link.symlink_to(d)
    assert not local_file_is(str(link), "directory")  # a link is not the directory


def test_local_file_is_expands_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    (tmp_path / "f").write_text("x")
    assert local_file_is("~/f", content="x")


def test_local_file_is_refuses_bad_arguments(tmp_path: Path) -> None:
    with pytest.raises(AnsibleFilterError, match="kind must be one of"):
        local_file_is(str(tmp_path), "socket")
    (tmp_path / "f").write_text("x")
    with pytest.raises(AnsibleFilterError, match="octal digits"):
        local_file_is(str(tmp_path / "f"), mode="u=rw")


def test_filters_are_registered() -> None:
    assert set(FilterModule().filters()) == {"file_sha256", "local_file_is"}
