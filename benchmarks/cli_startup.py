"""How long `pi-k8s --help` takes: the median of 5 runs of the installed console script,
and the import time of pi_k8s.cli (python -X importtime). Prints figures; asserts nothing.

    .venv/bin/python benchmarks/cli_startup.py
"""

from __future__ import annotations

import os
import re
import shutil
import statistics
import subprocess
import sys
import time

RUNS = 5


def main() -> int:
    exe = shutil.which("pi-k8s", path=os.path.dirname(sys.executable)) or "pi-k8s"
    times = []
    for _ in range(RUNS):
        started = time.perf_counter()
        subprocess.run([exe, "--help"], capture_output=True, check=True)
        times.append(time.perf_counter() - started)
    probe = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", "import pi_k8s.cli"],
        capture_output=True,
        text=True,
        check=True,
    )
    total = next(
        int(m.group(1))
        for line in reversed(probe.stderr.splitlines())
        if (m := re.search(r"\|\s+(\d+) \|\s+pi_k8s\.cli$", line))
    )
    load = os.getloadavg()[0]
    print(f"pi-k8s --help: median {statistics.median(times):.2f} s of {RUNS} "
          f"(min {min(times):.2f}, max {max(times):.2f}); load average {load:.2f}")  # fmt: skip
    print(f"import pi_k8s.cli: {total / 1000:.0f} ms (cumulative, -X importtime)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
