"""verify's "k3s checksum": the binary on disk against the sha256 k3s_install recorded.

``FakeHost`` answers ``file(path)`` with a file's text (``content_string``) and its
``sha256sum``, the two testinfra attributes the check reads; the live case (a binary
changed on a testbed host) is in tests/integration/test_cluster_token.py.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from pi_k8s import verify

BINARY = b"k3s binary bytes"
SHA = hashlib.sha256(BINARY).hexdigest()


@dataclass
class FakeFile:
    data: bytes | None

    @property
    def exists(self) -> bool:
        return self.data is not None

    @property
    def content_string(self) -> str:
        assert self.data is not None
        return self.data.decode()

    @property
    def sha256sum(self) -> str:
        assert self.data is not None
        return hashlib.sha256(self.data).hexdigest()


class FakeHost:
    def __init__(self, files: dict[str, bytes | None]) -> None:
        self.files = files

    def file(self, path: str) -> FakeFile:
        return FakeFile(self.files.get(path))


def _check(record: bytes | None, binary: bytes = BINARY) -> verify.CheckResult:
    host = FakeHost({verify.K3S_SHA256_RECORD: record, verify.K3S_BINARY: binary})
    t = verify.HostTarget("pi-a", "server")
    [result] = verify.check_k3s_checksum(host, t, host.file(verify.K3S_BINARY))
    return result


def test_the_record_is_where_k3s_install_writes_it() -> None:
    from pathlib import Path

    import yaml

    defaults = yaml.safe_load(
        (Path(__file__).parents[2] / "roles/k3s_install/defaults/main.yml").read_text()
    )
    assert defaults["k3s_install_sha256_file"] == verify.K3S_SHA256_RECORD


def test_an_unchanged_binary_passes() -> None:
    result = _check(f"{SHA}  /usr/local/bin/k3s\n".encode())
    assert (result.name, result.status) == ("k3s checksum", verify.PASS)


def test_a_binary_changed_after_install_fails_with_a_hint() -> None:
    result = _check(f"{SHA}  /usr/local/bin/k3s\n".encode(), binary=BINARY + b"\0")
    assert (result.name, result.status) == ("k3s checksum", verify.FAIL)
    assert f"{SHA[:16]}… verified at install" in result.detail
    assert "changed after pi-k8s installed it" in result.hint


def test_no_record_is_a_warning_not_a_silent_pass() -> None:
    result = _check(None)
    assert (result.name, result.status) == ("k3s checksum", verify.WARN)
    assert verify.K3S_SHA256_RECORD in result.detail
