#!/usr/bin/env bash
# List what a test run can leave behind on this machine, one per line, sorted:
# podman containers and networks, bridges, tap devices, network namespaces, and the
# test VMs' processes (QEMU, their supervisor, the NTP server on their bridge).
# .ci/run lists them before and after the run; anything new is a leftover.
# A command this machine does not have yet (before apt) lists nothing.
set -uo pipefail
{
  if command -v podman >/dev/null; then
    podman ps -a --format 'container {{.Names}}' 2>/dev/null
    # Not podman's default network `podman`: podman lists it once installed, made by no
    # test (on a fresh machine podman comes with the apt phase, after the first listing).
    podman network ls --format 'network {{.Name}}' 2>/dev/null | grep -vx 'network podman'
  fi
  if command -v ip >/dev/null; then
    ip -o link show type bridge 2>/dev/null | awk -F': ' '{sub(/@.*/, "", $2); print "bridge " $2}'
    ip -o link show type tun 2>/dev/null | awk -F': ' '{sub(/@.*/, "", $2); print "tap " $2}'
    ip netns list 2>/dev/null | awk '{print "netns " $1}'
  fi
  if command -v pgrep >/dev/null; then
    pgrep -a -f '^(qemu-system-|/usr/sbin/chronyd |.*-m pi_k8s\.testbed\.qemu supervise )' 2>/dev/null \
      | awk '{$1 = ""; print "process" $0}'
  fi
} | sort -u
