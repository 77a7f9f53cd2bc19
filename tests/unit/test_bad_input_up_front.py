"""Bad paths given on the command line are usage errors found before any scan or SSH.

Each case replaces the step that would scan the LAN or log in to a host with one that
fails the test if it is called: the error must come first, with exit 2 and a hint, not as
"Unexpected error" (exit 1) after the work is done.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, NoReturn

import asyncssh
import pytest
from typer.testing import CliRunner

from pi_k8s import paths
from pi_k8s.cli import app
from pi_k8s.discovery import pipeline
from pi_k8s.verify import CheckResult, VerifyReport

runner = CliRunner(env={"COLUMNS": "200"})
SUBNET = "10.213.99.0/24"  # a testbed-range subnet; nothing is swept in these tests


def _never(what: str) -> Any:
    def fail(*args: object, **kwargs: object) -> NoReturn:
        raise AssertionError(f"{what} was called: the check must come first")

    return fail


def test_verify_junit_in_a_missing_directory_is_refused_before_verifying(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("pi_k8s.verify.verify", _never("verify"))
    junit = tmp_path / "missing" / "dir" / "x.xml"
    result = runner.invoke(
        app, ["verify", "-i", str(tmp_path / "hosts.yml"), "--junit", str(junit)]
    )
    assert result.exit_code == 2, result.output
    assert f"--junit {junit}: the directory {junit.parent} does not exist." in result.stderr
    assert "hint: Create it first" in result.stderr
    assert "Unexpected" not in result.output


def test_verify_junit_is_written_whole(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    report = VerifyReport([CheckResult("pi-a", "swap off", "pass", "no swap")])
    monkeypatch.setattr("pi_k8s.verify.verify", lambda *a, **k: report)
    junit = tmp_path / "x.xml"
    result = runner.invoke(
        app, ["verify", "-i", str(tmp_path / "hosts.yml"), "--junit", str(junit)]
    )
    assert result.exit_code == 0, result.output
    assert '<testcase classname="pi-a" name="swap off"' in junit.read_text()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.xml"]  # no temp file left


def test_discover_output_in_a_missing_directory_is_refused_before_scanning(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("pi_k8s.discovery.discover", _never("discover"))
    out = tmp_path / "missing" / "dir" / "x.json"
    result = runner.invoke(app, ["discover", "--subnet", SUBNET, "-o", str(out)])
    assert result.exit_code == 2, result.output
    assert f"--output {out}: the directory {out.parent} does not exist." in result.stderr
    assert "Unexpected" not in result.output


def test_discover_output_that_is_a_directory_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("pi_k8s.discovery.discover", _never("discover"))
    result = runner.invoke(app, ["discover", "--subnet", SUBNET, "-o", str(tmp_path)])
    assert result.exit_code == 2, result.output
    assert f"--output {tmp_path} is a directory." in result.stderr


@pytest.fixture
def no_scan(monkeypatch: pytest.MonkeyPatch) -> None:
    """Discovery past its input checks fails the test: no interface read, no sweep."""
    monkeypatch.setattr(pipeline, "local_addresses", _never("local_addresses"))
    monkeypatch.setattr(pipeline, "find_hosts", _never("find_hosts"))


def _key_files(tmp_path: Path) -> dict[str, Path]:
    key = asyncssh.generate_private_key("ssh-ed25519")
    files = {
        "public": tmp_path / "id_ed25519.pub",
        "text": tmp_path / "notes.txt",
        "encrypted": tmp_path / "id_encrypted",
    }
    key.write_public_key(str(files["public"]))
    files["text"].write_text("not a key\n")
    key.write_private_key(str(files["encrypted"]), "pkcs8-pem", passphrase="secret")
    return files


@pytest.mark.parametrize(
    ("kind", "message"),
    [
        ("public", "is not an SSH private key"),
        ("text", "is not an SSH private key"),
        ("encrypted", "is encrypted; pi-k8s cannot ask for its passphrase"),
    ],
)
def test_discover_identity_that_is_not_a_usable_private_key_is_refused_before_scanning(
    tmp_path: Path, no_scan: None, kind: str, message: str
) -> None:
    identity = _key_files(tmp_path)[kind]
    result = runner.invoke(app, ["discover", "--subnet", SUBNET, "--identity", str(identity)])
    assert result.exit_code == 2, result.output
    assert f"Identity file {identity} {message}" in result.stderr
    assert "hint: " in result.stderr
    assert "Unexpected" not in result.output


def test_discover_accepts_a_private_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    key = tmp_path / "id_ed25519"
    asyncssh.generate_private_key("ssh-ed25519").write_private_key(str(key))
    monkeypatch.setattr(pipeline, "local_addresses", list)

    async def nothing(*args: object, **kwargs: object) -> list[Any]:
        return []

    monkeypatch.setattr(pipeline, "find_hosts", nothing)
    result = runner.invoke(app, ["discover", "--subnet", SUBNET, "--identity", str(key)])
    assert result.exit_code == 3, result.output  # got past the key: nothing found
    assert "No Raspberry Pi found" in result.stderr


def test_write_atomic_leaves_the_old_file_when_the_write_fails(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "hosts.json"
    target.write_text("old\n")

    def broken_replace(src: str | os.PathLike[str], dst: str | os.PathLike[str]) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(OSError, match="disk full"):
        paths.write_atomic(target, "new\n")
    assert target.read_text() == "old\n"
    assert [p.name for p in tmp_path.iterdir()] == ["hosts.json"]
