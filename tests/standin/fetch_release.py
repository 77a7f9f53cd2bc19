"""Download a real k3s release the way pi-k8s's default source does, laid out as an airgap dir.

For .github/workflows/e2e.yml (a runner with internet), never for the tests here. Without
``--airgap`` or ``--mirror``, pi-k8s installs from the release source: roles/k3s_install
downloads ``<k3s_install_release_url>/<version>/<asset>`` on each host and checks it against
that release's ``sha256sum-<arch>.txt``; with no version pinned it first resolves
``k3s_install_channel`` (default ``stable``) at ``k3s_install_channel_url``. This script
reads those URLs from the role's own defaults (roles/k3s_install/defaults/main.yml), the
asset names from pi_k8s.release.ASSETS and resolves a channel with
pi_k8s.k3s_versions.resolve_channel, so it fetches exactly what a default bootstrap would,
and checks every file the checksum file lists the same way. It writes them to
``DEST/<version>/``, the airgap layout the test suite installs from (PI_K8S_E2E_K3S,
tests/k3s_release.py), and prints that directory.

    python tests/standin/fetch_release.py DEST [--version v1.31.4+k3s1 | --channel stable]
        [--arch amd64] [--images]

``--images`` adds the release's ``k3s-airgap-images-<arch>.tar.zst`` and ``k3s-images.txt``
(what verify's DNS smoke test runs offline; the image list is not in the checksum file).
"""

from __future__ import annotations

import argparse
import hashlib
import sys
import urllib.request
from pathlib import Path
from urllib.parse import quote

import yaml

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from pi_k8s import k3s_versions, release  # noqa: E402
from pi_k8s.errors import PiK8sError  # noqa: E402

ROLE_DEFAULTS = REPO / "roles" / "k3s_install" / "defaults" / "main.yml"


class FetchError(Exception):
    pass


def role_defaults() -> dict[str, str]:
    """The release and channel URLs and the default channel, from the role's defaults."""
    data = yaml.safe_load(ROLE_DEFAULTS.read_text())
    return {
        "release_url": data["k3s_install_release_url"],
        "channel_url": data["k3s_install_channel_url"],
    }


def parse_sums(text: str) -> dict[str, str]:
    """``sha256sum`` output → file name → sha256 (a ``*name`` is binary mode)."""
    sums = {}
    for line in text.splitlines():
        fields = line.split()
        if len(fields) == 2 and len(fields[0]) == 64:
            sums[fields[1].lstrip("*")] = fields[0].lower()
    return sums


def asset_url(base: str, version: str, name: str) -> str:
    """As the role builds it: ``<base>/<version | urlencode>/<asset>``."""
    return f"{base.rstrip('/')}/{quote(version, safe='')}/{name}"


def download(url: str, dest: Path) -> str:
    """Fetch ``url`` to ``dest``; its sha256."""
    digest = hashlib.sha256()
    tmp = dest.with_name(dest.name + ".part")
    with urllib.request.urlopen(url, timeout=120) as answer, tmp.open("wb") as out:
        while chunk := answer.read(1 << 20):
            digest.update(chunk)
            out.write(chunk)
    tmp.replace(dest)
    return digest.hexdigest()


def fetch(
    dest: Path,
    version: str | None = None,
    channel: str = "stable",
    arch: str = "amd64",
    images: bool = False,
    release_url: str | None = None,
    channel_url: str | None = None,
) -> Path:
    defaults = role_defaults()
    base = release_url or defaults["release_url"]
    if not version:
        version = k3s_versions.resolve_channel(channel, channel_url or defaults["channel_url"])
    release.check_version(version)
    binary, sums_name = release.ASSETS[arch]
    out = dest / version
    out.mkdir(parents=True, exist_ok=True)
    download(asset_url(base, version, sums_name), out / sums_name)
    sums = parse_sums((out / sums_name).read_text())
    names = [binary]
    if images:
        names.append(f"k3s-airgap-images-{arch}.tar.zst")
    for name in names:
        got = download(asset_url(base, version, name), out / name)
        if sums.get(name) != got:
            (out / name).unlink()
            raise FetchError(
                f"{name} of {version}: {sums_name} says {sums.get(name, 'nothing')}, "
                f"the download has {got}."
            )
    if images:
        download(
            asset_url(base, version, release.AIRGAP_IMAGE_LIST), out / release.AIRGAP_IMAGE_LIST
        )
    (out / binary).chmod(0o755)
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("dest", type=Path)
    group = p.add_mutually_exclusive_group()
    group.add_argument("--version", help="a release tag, e.g. v1.31.4+k3s1")
    group.add_argument("--channel", default="stable", help="resolved as pi-k8s does (stable)")
    p.add_argument("--arch", default="amd64", choices=sorted(release.ASSETS))
    p.add_argument("--images", action="store_true", help="also the airgap image archive")
    args = p.parse_args(argv)
    try:
        print(fetch(args.dest, args.version, args.channel, args.arch, args.images))
    except (FetchError, OSError, PiK8sError) as exc:
        print(f"fetch_release: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
