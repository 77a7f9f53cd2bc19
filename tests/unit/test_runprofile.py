"""benchmarks/runprofile.py's memory sampler counts the run's own processes, and only them."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

from benchmarks.runprofile import _descendants_rss

MB = 2**20


def test_descendants_rss_counts_children_and_grandchildren_only() -> None:
    before = _descendants_rss(os.getpid())
    hold = "import time; x = bytearray(64 * 2**20); x[::4096] = b'x' * 16384; time.sleep(30)"
    # A grandchild (below a shell) holding 64 MB.
    proc = subprocess.Popen(
        ["sh", "-c", f'{sys.executable} -c "{hold}"; true'], start_new_session=True
    )
    try:
        deadline = time.monotonic() + 20
        while _descendants_rss(os.getpid()) - before < 64 * MB and time.monotonic() < deadline:
            time.sleep(0.1)
        assert _descendants_rss(os.getpid()) - before >= 64 * MB
        # Below the shell only: this process's own memory is not counted.
        assert _descendants_rss(proc.pid) >= 64 * MB
        assert _descendants_rss(proc.pid) < _descendants_rss(os.getpid()) + 1
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    # A process with no children, or one that is gone: nothing.
    assert _descendants_rss(proc.pid) == 0
