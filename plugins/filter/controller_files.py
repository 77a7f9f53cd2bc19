"""Files on the controller, checked in the play's own process (no task, no module run).

- ``file_sha256``: a file's sha256, read in chunks. k3s_install hashes an airgap image
  archive only where it is about to be copied (or the checksum file does not list it),
  instead of hashing every archive on every run.
- ``local_file_is``: whether a controller path already is what a ``file``/``copy`` task on
  localhost would make it (kind, content, mode). Such a task runs only where this says the
  path differs, so a no-op run skips it; a false "differs" only costs the task's run::

      when: not (path | pik8s.cluster.local_file_is(content=text, mode='0600'))

The wanted content (a kubeconfig, which holds a client key) is compared in memory and never
logged.
"""

from __future__ import annotations

import hashlib
import os
import stat
from pathlib import Path
from typing import Any

from ansible.errors import AnsibleFilterError

_CHUNK = 1 << 20
_KINDS = {"file": stat.S_ISREG, "directory": stat.S_ISDIR}


def file_sha256(path: str) -> str:
    """The hex sha256 of the controller file ``path``."""
    digest = hashlib.sha256()
    try:
        with Path(str(path)).open("rb") as handle:
            for block in iter(lambda: handle.read(_CHUNK), b""):
                digest.update(block)
    except OSError as exc:
        raise AnsibleFilterError(f"file_sha256: cannot read {path}: {exc.strerror}") from exc
    return digest.hexdigest()


def local_file_is(
    path: str, kind: str = "file", content: str | None = None, mode: Any = None
) -> bool:
    """True when the controller path ``path`` exists as ``kind`` with ``content`` and ``mode``."""
    if kind not in _KINDS:
        raise AnsibleFilterError(
            f"local_file_is: kind must be one of {', '.join(_KINDS)}, not {kind!r}"
        )
    target = Path(os.path.expanduser(str(path)))
    try:
        info = target.lstat()
    except OSError:
        return False
    if not _KINDS[kind](info.st_mode):
        return False
    if mode is not None:
        text = str(mode)
        wanted = int(text, 8) if text.isdigit() else None
        if wanted is None:
            raise AnsibleFilterError(f"local_file_is: mode must be octal digits, not {mode!r}")
        if stat.S_IMODE(info.st_mode) != wanted:
            return False
    if content is not None:
        try:
            return target.read_bytes() == str(content).encode("utf-8")
        except OSError:
            return False
    return True


class FilterModule:
    def filters(self):
        return {"file_sha256": file_sha256, "local_file_is": local_file_is}
