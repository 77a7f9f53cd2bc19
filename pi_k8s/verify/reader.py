"""The one program verify runs on each host: every read its host checks need, as JSON.

It runs on the host, not the controller: pi_k8s.verify.batched sends this file's text to
the host's Python 3 as ONE command under sudo (base64 in the command line, so no shell
quoting can change it) with the list of reads, and serves the checks from what it prints.
So it uses only the standard library and runs on Python 3.7 or later (what a host Ansible
manages has), and it only reads: it stats paths, reads the contents of the paths it is
told to read, hashes files and runs the read-only commands it is given.

Input (argv[1], base64 of JSON): ``stat`` (paths: exists, directory, mode, all following
symlinks, as ``test -e``, ``test -d`` and ``stat -Lc %a`` do), ``read`` (paths whose text
it prints, up to MAX_READ bytes of UTF-8), ``sha256`` (paths it hashes) and ``commands``
(shell command lines, run with ``/bin/sh -c``, side by side). A path only in ``stat`` is
never opened: that is how files that hold the cluster token are checked for their mode
without their contents leaving the host.

Output (stdout, JSON): ``{"files": {path: {"exists", "is_dir", "mode", and "content" or
"content_error" when read, "sha256" or "sha256_error" when hashed}}, "commands":
{command: {"rc", "stdout", "stderr"}}}``. A read that fails or is not UTF-8 says why in
``*_error`` instead: the controller then asks the host itself, as testinfra would.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import stat
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

# Contents larger than this are not printed (the checks read small /proc and /sys files).
MAX_READ = 64 * 1024
# A command still running after this many seconds is reported as failed (rc 124).
COMMAND_TIMEOUT_S = 60


def describe(path):
    """exists / is_dir / mode of ``path``, following symlinks."""
    try:
        st = os.stat(path)
    except OSError:
        return {"exists": False, "is_dir": False, "mode": None}
    return {"exists": True, "is_dir": stat.S_ISDIR(st.st_mode), "mode": stat.S_IMODE(st.st_mode)}


def read_text(path):
    """("content", text) or ("content_error", why)."""
    try:
        with open(path, "rb") as f:
            data = f.read(MAX_READ + 1)
    except OSError as exc:
        return "content_error", f"{type(exc).__name__}: {exc.strerror or exc}"
    if len(data) > MAX_READ:
        return "content_error", f"larger than {MAX_READ} bytes"
    try:
        return "content", data.decode("utf-8")
    except UnicodeDecodeError:
        return "content_error", "not UTF-8"


def sha256(path):
    """("sha256", hex digest) or ("sha256_error", why)."""
    digest = hashlib.sha256()
    try:
        with open(path, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                digest.update(block)
    except OSError as exc:
        return "sha256_error", f"{type(exc).__name__}: {exc.strerror or exc}"
    return "sha256", digest.hexdigest()


def run(command):
    """rc, stdout and stderr of ``/bin/sh -c command`` (output not UTF-8: replaced)."""
    try:
        proc = subprocess.run(
            ["/bin/sh", "-c", command],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=COMMAND_TIMEOUT_S,
        )
    except subprocess.TimeoutExpired:
        return {"rc": 124, "stdout": "", "stderr": f"timed out after {COMMAND_TIMEOUT_S} s"}
    return {
        "rc": proc.returncode,
        "stdout": proc.stdout.decode("utf-8", "replace"),
        "stderr": proc.stderr.decode("utf-8", "replace"),
    }


def read_all(spec):
    """The whole answer for one ``spec`` (see the module's docstring)."""
    paths = [*spec.get("stat", []), *spec.get("read", []), *spec.get("sha256", [])]
    files = {path: describe(path) for path in paths}
    commands = list(dict.fromkeys(spec.get("commands", [])))
    with ThreadPoolExecutor(max_workers=max(1, min(8, len(commands) + 1))) as pool:
        ran = pool.map(run, commands)  # started now, collected at the end
        hashed = [(p, pool.submit(sha256, p)) for p in spec.get("sha256", []) if files[p]["exists"]]
        for path in spec.get("read", []):
            if files[path]["exists"] and not files[path]["is_dir"]:
                key, value = read_text(path)
                files[path][key] = value
        for path, future in hashed:
            key, value = future.result()
            files[path][key] = value
        outcomes = list(ran)
        return {"files": files, "commands": {c: outcomes[i] for i, c in enumerate(commands)}}


def main(argv):
    spec = json.loads(base64.b64decode(argv[1]).decode("utf-8"))
    json.dump(read_all(spec), sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
