"""Lay out a k3s *stand-in* release as an airgap/mirror directory, for tests only.

The directory has the names and checksum files of a real k3s release, so the roles
install the stand-in through exactly the path they use for the real binary:

    k3s  k3s-arm64  k3s-armhf                       the stand-in, one copy per asset
    sha256sum-amd64.txt  sha256sum-arm64.txt  sha256sum-arm.txt   (note: arm, not armhf)
    k3s-airgap-images-{amd64,arm64,arm}.tar.gz      placeholder archives (no images)

Each copy has the version and its asset name baked in, so the copies differ and
`k3s --version` names the asset: an arch mix-up shows in the output.

CLI: python tests/standin/build.py DEST [--version V]
"""

from __future__ import annotations

import argparse
import hashlib
import io
import re
import tarfile
from pathlib import Path

SOURCE = Path(__file__).resolve().parent / "k3s"
DEFAULT_VERSION = "v1.31.4+k3s1"
# (suffix of the binary asset, arch in the checksum file's and image archive's names)
ASSETS = (("", "amd64"), ("-arm64", "arm64"), ("-armhf", "arm"))


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _bake(source: str, version: str, asset: str) -> str:
    if not re.fullmatch(r"v\d+\.\d+\.\d+\+k3s\d+", version):
        raise ValueError(f"not a k3s version: {version!r} (expected e.g. v1.31.4+k3s1)")
    text, n_version = re.subn(r'^VERSION = ".*"$', f'VERSION = "{version}"', source, flags=re.M)
    text, n_asset = re.subn(r'^ASSET = ".*"$', f'ASSET = "{asset}"', text, flags=re.M)
    if (n_version, n_asset) != (1, 1):
        raise RuntimeError(f"{SOURCE}: expected one VERSION and one ASSET line")
    return text


def _placeholder_images(path: Path, version: str, arch: str) -> None:
    note = (
        f"k3s stand-in {version} for {arch}: a placeholder, not an image archive.\n"
        "The stand-in runs no containers; this file only exercises the airgap path.\n"
    ).encode()
    info = tarfile.TarInfo("README.k3s-standin")
    info.size, info.mtime = len(note), 0
    with tarfile.open(path, "w:gz") as tar:
        tar.addfile(info, io.BytesIO(note))


def build_airgap(dest_dir: str | Path, version: str = DEFAULT_VERSION) -> Path:
    """Write the stand-in release for `version` into `dest_dir`; return the directory."""
    dest = Path(dest_dir)
    dest.mkdir(parents=True, exist_ok=True)
    source = SOURCE.read_text()
    for suffix, arch in ASSETS:
        binary = dest / f"k3s{suffix}"
        binary.write_text(_bake(source, version, binary.name))
        binary.chmod(0o755)
        images = dest / f"k3s-airgap-images-{arch}.tar.gz"
        _placeholder_images(images, version, arch)
        (dest / f"sha256sum-{arch}.txt").write_text(
            f"{_sha256(images)}  {images.name}\n{_sha256(binary)}  {binary.name}\n"
        )
    return dest


def tamper(dest_dir: str | Path, asset: str = "k3s") -> Path:
    """Change a binary after its checksum was written (for the tampered-binary test)."""
    binary = Path(dest_dir) / asset
    with binary.open("a") as f:
        f.write("# tampered after sha256sum was written\n")
    return binary


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dest", help="directory to write the airgap/mirror layout into")
    parser.add_argument("--version", default=DEFAULT_VERSION, help="k3s version to bake in")
    args = parser.parse_args(argv)
    print(build_airgap(args.dest, args.version))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
