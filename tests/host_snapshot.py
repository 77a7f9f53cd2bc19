"""What a run may change on a testbed host, read from inside its container (test helper).

``snapshot(container)`` returns one text per host: every path pi-k8s's roles write to
(type, mode, owner and sha256 of each file under it, or "absent"), the net.* sysctls of
the container's own network namespace, keepalived's unit state, and the reboot marker and
counter. Two equal snapshots mean the run changed none of it. A test takes one before and
one after a run; later test corpora can import it the same way.
"""

from __future__ import annotations

import shlex
import subprocess

# Everything pi_prereq, k3s_install, k3s_server/k3s_agent and k3s_workloads write.
PATHS = (
    "/boot/firmware",  # cmdline.txt, config.txt
    "/boot/cmdline.txt",
    "/var/lib/pi-k8s",  # reboot-required, reboot-count, download/, original-state.json
    "/etc/rancher",
    "/var/lib/rancher",
    "/usr/local/bin",  # k3s, the helper scripts, the kubectl/crictl/ctr links
    "/etc/systemd/system",  # k3s.service, k3s-agent.service and their .env files
    "/etc/sysctl.d",
    "/etc/modules-load.d",
    "/etc/dphys-swapfile",
    "/etc/rpi",
    "/etc/fstab",
    "/etc/hostname",
    "/etc/keepalived",  # k3s_vip's keepalived.conf and health check
)
# systemd units whose enabled and running state a run may change.
UNITS = ("keepalived.service",)
SYSCTLS = (
    "net.ipv4.ip_forward",
    "net.bridge.bridge-nf-call-iptables",
    "net.bridge.bridge-nf-call-ip6tables",
)

_SCRIPT = (
    "for p in {paths}; do"
    ' if [ -e "$p" ] || [ -L "$p" ]; then'
    '   find "$p" -xdev -printf "%y %m %u:%g %p -> %l\\n" | sort;'
    '   find "$p" -xdev -type f -exec sha256sum {{}} + | sort -k2;'
    ' else echo "absent $p"; fi;'
    " done;"
    " for s in {sysctls}; do"
    ' f=/proc/sys/$(echo "$s" | tr . /);'
    ' echo "$s=$(cat "$f" 2>/dev/null || echo unreadable)";'
    " done;"
    " for u in {units}; do"
    ' echo "$u $(systemctl show "$u" --property=UnitFileState --property=ActiveState'
    ' | sort | tr "\\n" " ")";'
    " done"
)


def snapshot(container: str) -> str:
    """The state of ``container`` that a pi-k8s run could change, as one comparable text."""
    script = _SCRIPT.format(
        paths=" ".join(shlex.quote(p) for p in PATHS),
        sysctls=" ".join(SYSCTLS),
        units=" ".join(UNITS),
    )
    proc = subprocess.run(
        ["podman", "exec", container, "sh", "-c", script],
        capture_output=True,
        text=True,
        timeout=120,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"snapshot of {container} failed: {proc.stderr.strip()}")
    return proc.stdout


def snapshots(containers: dict[str, str]) -> dict[str, str]:
    """``snapshot`` of each host: host name → container name."""
    return {host: snapshot(c) for host, c in containers.items()}


# A container cannot reboot: the testbed's reboot double counts in these files instead, and
# they stay after a reset (tests read them on their own).
STATE_DIR = "/var/lib/pi-k8s"
REBOOT_MARKERS = (f"{STATE_DIR}/reboot-count", f"{STATE_DIR}/reboot-required")


def without_markers(snapshot: str) -> str:
    """A snapshot without pi-k8s's state directory and the reboot double's files in it."""
    drop = (f"absent {STATE_DIR}", f" {STATE_DIR} -> ", *REBOOT_MARKERS)
    return "".join(line for line in snapshot.splitlines(True) if not any(d in line for d in drop))
