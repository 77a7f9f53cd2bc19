"""The testbed raises root's inotify instance limit before it runs out (50 hosts)."""

from __future__ import annotations

from pathlib import Path

import pytest

from pi_k8s import errors
from pi_k8s.testbed.limits import ensure_inotify_instances, inotify_instances_needed


def limit_file(tmp_path: Path, value: int) -> Path:
    path = tmp_path / "max_user_instances"
    path.write_text(f"{value}\n")
    return path


def test_fifty_hosts_raise_the_debian_default(tmp_path: Path) -> None:
    path = limit_file(tmp_path, 128)
    said: list[str] = []
    assert ensure_inotify_instances(50, path=path, progress=said.append) == 128
    assert int(path.read_text()) == inotify_instances_needed(50) == 528
    assert said == [
        "raised fs.inotify.max_user_instances from 128 to 528 for 50 hosts "
        "(each host's systemd holds several)"
    ]


def test_a_limit_that_is_enough_is_left_alone(tmp_path: Path) -> None:
    path = limit_file(tmp_path, 128)
    assert ensure_inotify_instances(3, path=path) is None
    assert path.read_text() == "128\n"
    path = limit_file(tmp_path, 8192)
    assert ensure_inotify_instances(50, path=path) is None
    assert path.read_text() == "8192\n"


def test_the_ci_testbeds_fit_the_default_and_fifteen_hosts_do_not(tmp_path: Path) -> None:
    # two xdist workers' testbeds and a molecule scenario: about 12 hosts at once
    assert ensure_inotify_instances(14, path=limit_file(tmp_path, 128)) is None
    path = limit_file(tmp_path, 128)
    assert ensure_inotify_instances(15, path=path) == 128
    assert path.read_text() == "512\n"


def test_a_refused_write_says_what_to_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = limit_file(tmp_path, 128)

    def refuse(self: Path, *args: object, **kwargs: object) -> int:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(Path, "write_text", refuse)
    with pytest.raises(errors.TestbedError) as err:
        ensure_inotify_instances(50, path=path)
    assert "fs.inotify.max_user_instances=128" in str(err.value)
    assert "Permission denied" in str(err.value)
    assert err.value.hint == (
        "Run `sysctl -w fs.inotify.max_user_instances=528` as root, or use fewer hosts."
    )
