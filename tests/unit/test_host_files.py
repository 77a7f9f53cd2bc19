"""The ``host_files`` module: several small files, directories and links in one round trip.

Run for real, as Ansible runs it (the module file with its arguments file), on a temporary
directory of this machine.
"""

from __future__ import annotations

import grp
import os
import pwd
from pathlib import Path
from typing import Any

from tests.module_run import run_module as run_named_module

ME = pwd.getpwuid(os.getuid()).pw_name
MY_GROUP = grp.getgrgid(os.getgid()).gr_name


def run_module(tmp: Path, entries: list[dict[str, Any]], *, check: bool = False) -> dict[str, Any]:
    return run_named_module("host_files", {"entries": entries}, tmp, check_mode=check, diff=True)


def tree(root: Path) -> list[dict[str, Any]]:
    return [
        {"path": str(root / "etc"), "state": "directory", "mode": "0755", "owner": ME},
        {
            "path": str(root / "etc" / "app.conf"),
            "content": "a: 1\n",
            "mode": "0600",
            "group": MY_GROUP,
        },
        {"path": str(root / "etc" / "run.sh"), "content": "#!/bin/sh\n", "mode": "0755"},
        {"path": str(root / "etc" / "kubectl"), "state": "link", "src": "k3s"},
    ]


def mode(path: Path) -> str:
    return f"{path.stat().st_mode & 0o7777:04o}"


def test_creates_each_entry_in_order_then_changes_nothing(tmp_path: Path) -> None:
    root = tmp_path / "root"
    root.mkdir()
    first = run_module(tmp_path, tree(root))
    assert first["changed"] is True, first
    assert first["paths"] == [e["path"] for e in tree(root)]
    assert (root / "etc" / "app.conf").read_text() == "a: 1\n"
    assert mode(root / "etc") == "0755"
    assert mode(root / "etc" / "app.conf") == "0600"
    assert mode(root / "etc" / "run.sh") == "0755"
    assert os.readlink(root / "etc" / "kubectl") == "k3s"
    assert sorted(p.name for p in (root / "etc").iterdir()) == ["app.conf", "kubectl", "run.sh"]
    assert [d["after_header"] for d in first["diff"][1:3]] == [
        str(root / "etc" / "app.conf"),
        str(root / "etc" / "run.sh"),
    ]
    assert first["diff"][1]["after"] == "a: 1\n" and first["diff"][1]["before"] == ""

    again = run_module(tmp_path, tree(root))
    assert again["changed"] is False, again
    assert again["paths"] == [] and again["diff"] == []


def test_repairs_only_what_drifted_and_says_what(tmp_path: Path) -> None:
    root = tmp_path / "root"
    root.mkdir()
    run_module(tmp_path, tree(root))
    conf, script, link = (root / "etc" / n for n in ("app.conf", "run.sh", "kubectl"))
    conf.write_text("a: 2\n")
    os.chmod(script, 0o700)
    link.unlink()
    link.symlink_to("elsewhere")

    result = run_module(tmp_path, tree(root))
    assert result["paths"] == [str(conf), str(script), str(link)], result
    content_diff, mode_diff, link_diff = result["diff"]
    assert (content_diff["before"], content_diff["after"]) == ("a: 2\n", "a: 1\n")
    assert mode_diff == {
        "before": {"path": str(script), "mode": "0700"},
        "after": {"path": str(script), "mode": "0755"},
    }
    assert link_diff["before"]["src"] == "elsewhere" and link_diff["after"]["src"] == "k3s"
    assert conf.read_text() == "a: 1\n" and mode(conf) == "0600"
    assert mode(script) == "0755" and script.read_text() == "#!/bin/sh\n"
    assert os.readlink(link) == "k3s"
    # nothing left beside the files (the temporary file was renamed over the old one)
    assert sorted(p.name for p in (root / "etc").iterdir()) == ["app.conf", "kubectl", "run.sh"]


def test_check_mode_reports_and_changes_nothing(tmp_path: Path) -> None:
    root = tmp_path / "root"
    root.mkdir()
    result = run_module(tmp_path, tree(root), check=True)
    assert result["changed"] is True
    # the files count as new although their directory is only planned
    assert result["paths"] == [e["path"] for e in tree(root)]
    assert list(root.iterdir()) == []


def test_refuses_a_path_of_another_kind_and_a_missing_directory(tmp_path: Path) -> None:
    root = tmp_path / "root"
    (root / "etc" / "kubectl").mkdir(parents=True)
    (root / "etc" / "run.sh").write_text("user's own\n")
    result = run_module(
        tmp_path, [{"path": str(root / "etc" / "kubectl"), "state": "link", "src": "k3s"}]
    )
    assert result.get("failed") is True
    assert "is not a symlink; it is left as it is" in result["msg"]
    result = run_module(tmp_path, [{"path": str(root / "etc" / "run.sh"), "state": "directory"}])
    assert "is not a directory" in result["msg"]
    assert (root / "etc" / "run.sh").read_text() == "user's own\n"
    result = run_module(tmp_path, [{"path": str(root / "nowhere" / "a.conf"), "content": "x"}])
    assert result.get("failed") is True
    assert "does not exist (list it first)" in result["msg"]


def test_an_entry_needs_its_content_or_target(tmp_path: Path) -> None:
    result = run_module(tmp_path, [{"path": str(tmp_path / "a.conf")}])
    assert result.get("failed") is True and "content" in result["msg"]
    result = run_module(tmp_path, [{"path": str(tmp_path / "l"), "state": "link"}])
    assert result.get("failed") is True and "src" in result["msg"]
