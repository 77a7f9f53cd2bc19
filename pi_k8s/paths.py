"""Where pi-k8s finds its Ansible content and keeps its state."""

from __future__ import annotations

import os
from pathlib import Path

_PACKAGE_DIR = Path(__file__).resolve().parent


def content_dir() -> Path:
    """The directory holding ``roles/``, ``playbooks/`` and ``ansible.cfg``.

    An installed wheel carries them in ``pi_k8s/_content``; a source checkout
    (including an editable install) has them at the repository root.
    """
    bundled = _PACKAGE_DIR / "_content"
    if (bundled / "playbooks").is_dir():
        return bundled
    return _PACKAGE_DIR.parent


def playbook(name: str) -> Path:
    """Path of a shipped playbook, e.g. ``playbook("site.yml")``."""
    return content_dir() / "playbooks" / name


def roles_dir() -> Path:
    return content_dir() / "roles"


def state_dir() -> Path:
    """Per-user state: testbed keys, cluster tokens, runner artifacts.

    ``PI_K8S_STATE_DIR`` overrides; otherwise ``$XDG_STATE_HOME/pi-k8s``.
    """
    env = os.environ.get("PI_K8S_STATE_DIR")
    if env:
        return Path(env).expanduser()
    xdg = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(xdg) / "pi-k8s"


def ensure_private_dir(path: Path) -> Path:
    """Create ``path`` (and parents) with mode 0700 and return it."""
    path.mkdir(parents=True, exist_ok=True)
    path.chmod(0o700)
    return path
