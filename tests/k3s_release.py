"""Which k3s the tests install: the stand-in (default) or real releases (PI_K8S_E2E_K3S).

One environment variable switches the suite to real k3s. ``PI_K8S_E2E_K3S`` names one or
more directories, separated by ``:`` (``os.pathsep``), each a real k3s release laid out
like an airgap directory (``k3s``, ``sha256sum-amd64.txt``, optionally the airgap images and
``k3s-images.txt``; ``tests/standin/fetch_release.py`` downloads one). The first is the
release the suite installs; the others are there for tests that install another version
(an upgrade target). Each release's version is read from the release itself: the first
line of ``k3s --version`` of its amd64 binary. Unset, the tests build the stand-in
(tests/standin/build.py) for every version they ask for, as before.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Callable, Mapping
from pathlib import Path

ENV = "PI_K8S_E2E_K3S"
# The stand-in's release when no real release is given (tests/standin/build.py bakes it in).
STANDIN_VERSION = "v1.31.4+k3s1"
_VERSION = re.compile(r"^k3s version (v\d+\.\d+\.\d+(?:-rc\d+)?\+k3s\d+)\b")

Builder = Callable[[Path, str], Path]


class ReleaseError(Exception):
    """PI_K8S_E2E_K3S names something that is not a usable k3s release."""


class NoSuchRelease(LookupError):
    """A test asked for a version none of the real releases has."""


def release_version(release: Path) -> str:
    """The version a release directory holds, from its own ``k3s --version``."""
    binary = release / "k3s"
    if not binary.is_file():
        raise ReleaseError(f"{ENV}: {release} has no k3s (the amd64 binary).")
    try:
        out = subprocess.run(
            [str(binary), "--version"], capture_output=True, text=True, timeout=60
        ).stdout
    except OSError as exc:
        raise ReleaseError(f"{ENV}: {binary} --version could not run: {exc}.") from exc
    m = _VERSION.match(out)
    if not m:
        raise ReleaseError(f"{ENV}: {binary} --version printed no k3s version: {out[:200]!r}.")
    return m.group(1)


def real_releases(environ: Mapping[str, str] | None = None) -> dict[str, Path]:
    """Version → release directory, in the order PI_K8S_E2E_K3S names them ({} when unset)."""
    value = (os.environ if environ is None else environ).get(ENV, "")
    releases: dict[str, Path] = {}
    for part in filter(None, value.split(os.pathsep)):
        path = Path(part).resolve()
        if not path.is_dir():
            raise ReleaseError(f"{ENV}: {part} is not a directory.")
        releases.setdefault(release_version(path), path)
    return releases


def is_real(environ: Mapping[str, str] | None = None) -> bool:
    """Whether the tests run against real k3s (PI_K8S_E2E_K3S is set and not empty)."""
    return bool((os.environ if environ is None else environ).get(ENV, ""))


def installed_version(environ: Mapping[str, str] | None = None) -> str:
    """The release the suite installs: the first real one, else the stand-in's."""
    releases = real_releases(environ)
    return next(iter(releases)) if releases else STANDIN_VERSION


def airgap_dir(
    dest: Path,
    version: str | None = None,
    *,
    build: Builder,
    copy: bool = False,
    environ: Mapping[str, str] | None = None,
) -> tuple[Path, str]:
    """An airgap directory holding ``version`` (default: the installed one), and its version.

    With real releases: the release of that version (copied into ``dest`` when ``copy``,
    for a test that alters it); ``build`` is never called. Without: ``build(dest,
    version)``, the stand-in. NoSuchRelease when no real release has that version.
    """
    releases = real_releases(environ)
    if not releases:
        wanted = version or STANDIN_VERSION
        return build(dest, wanted), wanted
    wanted = version or next(iter(releases))
    if wanted not in releases:
        raise NoSuchRelease(
            f"{ENV} names no release {wanted} (it has {', '.join(releases)}); "
            f"fetch it with tests/standin/fetch_release.py and add its directory."
        )
    if not copy:
        return releases[wanted], wanted
    dest.mkdir(parents=True, exist_ok=True)
    shutil.copytree(releases[wanted], dest, dirs_exist_ok=True)
    return dest, wanted
