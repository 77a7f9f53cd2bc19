"""Where pi-k8s finds its Ansible content and keeps its state."""

from __future__ import annotations

import os
import shutil
import stat
import tempfile
from pathlib import Path

from pi_k8s.errors import EnvironmentProblem, UsageError

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


# The Ansible collection this content also is (galaxy.yml). The roles call their filters by
# FQCN (pik8s.cluster.<filter>), as a collection's roles must: ansible-core looks short
# filter names up only among its own and the configured filter_plugins.
COLLECTION = ("pik8s", "cluster")


def link_collection(where: Path) -> Path:
    """Make ``where`` a collections path holding pik8s.cluster: a symlink
    ``where/ansible_collections/pik8s/cluster`` to the content dir (a checkout or the
    wheel's ``_content``), replaced atomically when it points elsewhere. Returns ``where``.

    pi-k8s's own runs use one in each run's directory; a checkout's ansible.cfg names
    ``.collections`` (made by ``make venv`` and the test session).
    """
    namespace = where / "ansible_collections" / COLLECTION[0]
    namespace.mkdir(parents=True, exist_ok=True)
    link = namespace / COLLECTION[1]
    target = content_dir()
    if link.is_symlink() and Path(os.readlink(link)) == target:
        return where
    if link.is_dir() and not link.is_symlink():
        shutil.rmtree(link)  # a copy installed there earlier: the link replaces it
    tmp = namespace / f".{COLLECTION[1]}.{os.getpid()}.tmp"
    tmp.unlink(missing_ok=True)
    tmp.symlink_to(target, target_is_directory=True)
    os.replace(tmp, link)
    return where


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
    """Make sure ``path`` is a directory and return it, tightening only what is pi-k8s's.

    Directories that are missing (``path`` and any missing parents) are created with mode
    0700. A directory that already exists keeps its mode, unless it lies in pi-k8s's own
    state dir (the state dir itself or below it): pi-k8s owns those and makes them 0700.
    A shared directory (sticky bit, like /tmp) is never changed, even when
    ``PI_K8S_STATE_DIR`` points at one.
    """
    missing: list[Path] = []
    probe = path
    while not probe.exists():
        missing.append(probe)
        if probe.parent == probe:
            break
        probe = probe.parent
    if probe.exists() and not probe.is_dir():
        _refuse_file_in_the_way(path, probe)
    for directory in reversed(missing):
        directory.mkdir(mode=0o700, exist_ok=True)
        directory.chmod(0o700)  # mkdir's mode is filtered by the umask
    if not path.is_dir():
        path.mkdir()  # raises FileExistsError / NotADirectoryError with the path in it
    if not missing and _in_state_dir(path) and not path.stat().st_mode & stat.S_ISVTX:
        path.chmod(0o700)
    return path


def _refuse_file_in_the_way(path: Path, blocker: Path) -> None:
    """A typed error (not a traceback) when a file stands where a directory must be."""
    if _in_state_dir(path) or _in_state_dir(blocker):
        raise EnvironmentProblem(
            f"The state directory {state_dir()} cannot hold {path}: {blocker} is not a directory.",
            hint="Point PI_K8S_STATE_DIR (or XDG_STATE_HOME) at a directory, or at a path "
            "pi-k8s can create.",
        )
    raise UsageError(
        f"{path} cannot be a directory: {blocker} is not a directory.",
        hint="Pass a path whose parent directories exist or can be created.",
    )


def _in_state_dir(path: Path) -> bool:
    state = state_dir().resolve()
    here = path.resolve()
    return here == state or state in here.parents


def check_output_file(path: Path, option: str) -> None:
    """Refuse, before any work, an output file that cannot be written (UsageError, exit 2).

    Its directory must exist (pi-k8s does not guess where a user meant to write), and
    the path must not be a directory.
    """
    parent = path.parent
    if not parent.is_dir():
        what = "does not exist" if not parent.exists() else "is not a directory"
        raise UsageError(
            f"{option} {path}: the directory {parent} {what}.",
            hint=f"Create it first (mkdir -p {parent}) or write to an existing directory.",
        )
    if path.is_dir():
        raise UsageError(
            f"{option} {path} is a directory.", hint=f"Pass a file name, e.g. {path / 'out'}."
        )
    if not os.access(parent, os.W_OK | os.X_OK):
        raise UsageError(
            f"{option} {path}: cannot write to {parent}.",
            hint="Pick a directory you can write to.",
        )


def check_creatable_file(path: Path, option: str) -> None:
    """Refuse, before any work, a file whose missing directories cannot be created.

    Unlike ``check_output_file``, missing parent directories are fine (the command
    creates them); a file standing where one of them must go, or ``path`` being a
    directory, is a UsageError (exit 2).
    """
    probe = path.parent
    while not probe.exists() and probe.parent != probe:
        probe = probe.parent
    if not probe.is_dir():
        raise UsageError(
            f"{option} {path}: {probe} is not a directory.",
            hint="Pass a path whose parent directories exist or can be created.",
        )
    if path.is_dir():
        raise UsageError(
            f"{option} {path} is a directory.", hint=f"Pass a file name, e.g. {path / 'hosts.yml'}."
        )


def write_atomic(path: Path, text: str, *, mode: int = 0o644) -> Path:
    """Write ``text`` to ``path`` through a temp file in the same directory + os.replace.

    A reader never sees half a file, and a failed write leaves the old file as it was.
    """
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path
