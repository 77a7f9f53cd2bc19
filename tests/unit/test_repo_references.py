"""The code and tests point only at things in this repository.

A contributor has the repository and public addresses, nothing else: no notes file
kept beside someone's checkout (an upper-case TESTING.md; the repository's is
docs/testing.md), no absolute path on someone's machine, no relative path that climbs
out of the checkout. Paths on the test hosts (/etc, /usr/local/bin, /home/pi, ...) are
fine: they name the hosts the tests build.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SCANNED = ("pi_k8s", "tests", "molecule", "docs")
SELF = Path(__file__).resolve()  # its examples would match

# An absolute path on a contributor's machine: the start of a path (not the middle of a
# URL or of a longer path such as /var/tmp/) under a home, a workspace or /tmp.
# /home/pi is the Raspberry Pi user's home on the test hosts.
MACHINE_PATH = re.compile(r"(?<![\w.~/-])(?:/work/|/home/(?!pi\b)[\w.-]+|/root/|/tmp/|/Users/\w)")
# A relative path that climbs (../x, ../../x), resolved from the file's directory.
CLIMB = re.compile(r"(?<![\w.])((?:\.\./)+)[\w.-][\w./-]*")


def line_offences(line: str, directory: Path) -> list[str]:
    """What in ``line``, of a file in ``directory``, points outside the repository."""
    found = []
    if "TESTING.md" in line:
        found.append("names TESTING.md (the repository's is docs/testing.md)")
    found += [f"machine path {m.group(0)!r}" for m in MACHINE_PATH.finditer(line)]
    found += [
        f"{m.group(0)!r} climbs out of the repository"
        for m in CLIMB.finditer(line)
        if not (directory / m.group(1)).resolve().is_relative_to(REPO)
    ]
    return found


def scanned_files() -> list[Path]:
    return [
        path
        for top in SCANNED
        for path in sorted((REPO / top).rglob("*"))
        if path.is_file() and "__pycache__" not in path.parts and path != SELF
    ]


def test_the_scan_reaches_every_tree() -> None:
    names = {p.relative_to(REPO).as_posix() for p in scanned_files()}
    assert {"pi_k8s/cli/__init__.py", "molecule/conftest.py", "docs/testing.md"} <= names
    assert "tests/unit/test_repo_references.py" not in names


def test_nothing_points_outside_the_repository() -> None:
    found = []
    for path in scanned_files():
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except UnicodeDecodeError:
            continue  # not text
        for number, line in enumerate(lines, 1):
            where = f"{path.relative_to(REPO)}:{number}"
            found += [f"{where}: {o}" for o in line_offences(line, path.parent)]
    assert not found, "\n".join(found)


@pytest.mark.parametrize(
    "line",
    [
        "directly with podman:// instead (see ../../shared/TESTING.md).",
        "pytest.skip('molecule scenarios need root and podman (see TESTING.md)')",
        "# The MA-L blocks in /work/shared/research/facts.md",
        'Path("/home/alice/pi-k8s")',
        "cache in /root/.cache/pi-k8s",
        "written to /tmp/pi-k8s-run/out.json",
        "/Users/bob/src",
    ],
)
def test_refused(line: str) -> None:
    assert line_offences(line, REPO / "molecule"), line


@pytest.mark.parametrize(
    "line",
    [
        "/etc/rancher/k3s/config.yaml and /usr/local/bin/k3s",
        "/var/lib/rancher/k3s/server/token, /var/tmp/x",
        "/proc/cmdline, /sys/firmware/devicetree/base/model, /boot/firmware/cmdline.txt",
        "chown -R pi:pi /home/pi/.ssh",
        "https://example.org/work/tmp/root/",
        "create: ../resources/create.yml",
        "import_playbook: ../../playbooks/site.yml",
        "see docs/testing.md",
    ],
)
def test_allowed(line: str) -> None:
    assert not line_offences(line, REPO / "molecule" / "cluster"), line
