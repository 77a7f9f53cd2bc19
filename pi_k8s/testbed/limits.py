"""The host kernel's limits a testbed of many systemd containers runs into.

Each testbed host is a container whose systemd (and journald, logind, dbus) opens inotify
instances, about six per host, all counted against root's
``fs.inotify.max_user_instances``. Debian's default of 128 stops around 22 hosts: the
next container's systemd cannot start and exits. kind's known issues give the same cause
and the same fix for its node containers (raising the limit):
https://kind.sigs.k8s.io/docs/user/known-issues/#pod-errors-due-to-too-many-open-files
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from pi_k8s.errors import TestbedError

INOTIFY_INSTANCES = Path("/proc/sys/fs/inotify/max_user_instances")
# inotify instances one testbed host holds (measured: 128 ran out at the 23rd host,
# about 5.6 each), rounded up.
PER_HOST = 8
# Left free for everything else root runs when deciding whether to raise the limit, and
# the room given above the hosts' need when raising it.
RESERVE = 16
MARGIN = 128
FLOOR = 512


def inotify_instances_needed(hosts: int) -> int:
    """The limit ``hosts`` systemd containers (all testbeds on this machine) need."""
    return max(FLOOR, hosts * PER_HOST + MARGIN)


def ensure_inotify_instances(
    hosts: int,
    *,
    path: Path = INOTIFY_INSTANCES,
    progress: Callable[[str], None] = lambda _: None,
) -> int | None:
    """Raise root's inotify instance limit for ``hosts`` containers; the old limit if raised.

    Only raises, never lowers. The testbed runs as root (rootful podman), which may write
    the sysctl; a refused write is a TestbedError with the command to run instead.
    """
    current = int(path.read_text().split()[0])
    wanted = inotify_instances_needed(hosts)
    if hosts * PER_HOST + RESERVE <= current:
        return None
    try:
        path.write_text(f"{wanted}\n")
    except OSError as exc:
        raise TestbedError(
            f"{hosts} testbed hosts need more inotify instances than this machine allows "
            f"(fs.inotify.max_user_instances={current}; each host's systemd uses about "
            f"6): {exc.strerror}.",
            hint=(
                f"Run `sysctl -w fs.inotify.max_user_instances={wanted}` as root, "
                "or use fewer hosts."
            ),
        ) from exc
    progress(
        f"raised fs.inotify.max_user_instances from {current} to {wanted} for {hosts} hosts "
        "(each host's systemd holds several)"
    )
    return current
