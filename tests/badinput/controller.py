"""What a run may change on the controller, as one comparable value (test helper).

``tree(root)`` maps every path under ``root`` (``root`` included) to its type, mode and,
for files, sha256. A bad-input case takes it before and after a run of its working
directory, which holds the run's state dir, HOME (``~/.kube``) and every file and
directory the case passes in: equal trees mean nothing was written, removed or chmod-ed.
A run that reaches Ansible records its run under ``$PI_K8S_STATE_DIR/runs/``; that
directory is the one place a refused run may add to (``skip``).
"""

from __future__ import annotations

import hashlib
import stat
from pathlib import Path


def tree(root: Path, skip: tuple[str, ...] = ()) -> dict[str, str]:
    """path (relative to ``root``) → "type mode [sha256]", not descending into ``skip``."""
    out: dict[str, str] = {}

    def visit(path: Path) -> None:
        rel = str(path.relative_to(root))
        st = path.lstat()
        mode = oct(stat.S_IMODE(st.st_mode))
        if stat.S_ISDIR(st.st_mode):
            out[rel] = f"dir {mode}"
            if rel in skip:
                return
            for child in sorted(path.iterdir()):
                visit(child)
        elif stat.S_ISREG(st.st_mode):
            out[rel] = f"file {mode} {hashlib.sha256(path.read_bytes()).hexdigest()}"
        else:
            out[rel] = f"other {mode}"

    visit(root)
    return out
