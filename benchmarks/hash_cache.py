"""What k3s_install's read of its host costs with and without host_state's digest cache.

Usage: .venv/bin/python benchmarks/hash_cache.py [--binary-mb 63.5] [--images-mb 132.8] [--rounds 5]

k3s_install reads the installed binary and the airgap image archives on every run to
compare their sha256 with the release's: on an unchanged host that is the whole of a
no-op's reading of large files. The default sizes are k3s's arm64 binary (63,504,536
bytes) and its zstd airgap archive (132,759,685 bytes) as listed in
k3s-io/k3s-ansible#367. The testbed's stand-in files are a few KB, so converge.py cannot
show this.

It writes two files of those sizes in a temporary directory on this machine (old enough
to be cached: host_state keeps no entry for a file changed in the last 2 seconds), then
runs the host_state module file as Ansible runs it (an arguments file, its own Python)
``--rounds`` times each way: with no cache, with a cache that must be filled (the first
run after an install or upgrade), and with a filled cache (every later run). It prints each
median, the hashing rate it saw and the machine's load average. A Pi hashes several times
slower than this machine; the cached run reads no file content at all there either.
Figures, not tests.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
MODULE = REPO / "plugins" / "modules" / "host_state.py"


def write(path: Path, megabytes: float) -> None:
    block = os.urandom(1 << 20)
    left = int(megabytes * 1e6)
    with path.open("wb") as out:
        while left > 0:
            out.write(block[: min(left, len(block))])
            left -= len(block)


def run(work: Path, files: list[str], cache: str) -> tuple[float, dict[str, int]]:
    """One host_state call: its wall time and its cache hits and misses."""
    args = work / "args.json"
    args.write_text(json.dumps({"ANSIBLE_MODULE_ARGS": {"sha256": files, "sha256_cache": cache}}))
    t0 = time.monotonic()
    proc = subprocess.run(
        [sys.executable, str(MODULE), str(args)], capture_output=True, text=True, check=True
    )
    wall = time.monotonic() - t0
    return wall, json.loads(proc.stdout)["sha256_cache"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--binary-mb", type=float, default=63.5)
    parser.add_argument("--images-mb", type=float, default=132.8)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    print(f"load average at start: {os.getloadavg()[0]:.1f} ({os.cpu_count()} cores)")
    with tempfile.TemporaryDirectory(prefix="pi-k8s-hash-") as tmp:
        work = Path(tmp)
        files = [str(work / "k3s"), str(work / "k3s-airgap-images-arm64.tar.zst")]
        write(Path(files[0]), args.binary_mb)
        write(Path(files[1]), args.images_mb)
        time.sleep(2.5)  # out of the racy window, as an installed file is on the next run
        cache = str(work / "hashes.json")
        none, cold, warm = [], [], []
        for _ in range(args.rounds):
            none.append(run(work, files, "")[0])
            Path(cache).unlink(missing_ok=True)
            wall, counts = run(work, files, cache)
            assert counts == {"hits": 0, "misses": 2}, counts
            cold.append(wall)
            wall, counts = run(work, files, cache)
            assert counts == {"hits": 2, "misses": 0}, counts
            warm.append(wall)
    total = args.binary_mb + args.images_mb
    rows = [
        ("no cache (every run)", none),
        ("cache to fill (after an install)", cold),
        ("cache filled (a no-op run)", warm),
    ]
    print(f"files: {args.binary_mb:.1f} MB binary + {args.images_mb:.1f} MB images")
    for name, walls in rows:
        each = ", ".join(f"{w:.3f}" for w in walls)
        print(f"{name:>34}: median {statistics.median(walls):.3f} s  ({each})")
    rate = total / statistics.median(none)
    ratio = statistics.median(warm) / statistics.median(none)
    print(f"sha1 + sha256 in one read here: {rate:.0f} MB/s; filled cache / no cache: {ratio:.2f}x")
    print(f"load average at end: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
