"""A small directory tree of the kinds of files the host readers meet, for their unit tests.

plugins/modules/host_state.py (tests/unit/test_host_state.py) and pi_k8s/verify/reader.py
(tests/unit/test_verify_batched.py) both run for real on it: a text file with its own
mode, a directory, a symlink, and the device tree's NUL-terminated model string.
"""

from __future__ import annotations

from pathlib import Path


def make_state_tree(root: Path) -> Path:
    """Create the tree under ``root`` (which must not exist yet) and return ``root``."""
    root.mkdir()
    (root / "conf").write_text("a = 1\n")
    (root / "conf").chmod(0o640)
    (root / "dir").mkdir()
    (root / "dir").chmod(0o750)
    (root / "link").symlink_to("conf")
    (root / "model").write_bytes(b"Raspberry Pi 4 Model B Rev 1.4\0")
    return root
