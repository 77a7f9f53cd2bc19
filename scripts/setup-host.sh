#!/usr/bin/env bash
# Prepare a Debian 12 machine (as root) to run pi-k8s's testbed and tests:
# apt packages, and the podman settings this kind of machine needs.
# Idempotent: installs only what is missing, rewrites the drop-in only if it differs.
set -euo pipefail

packages=(podman runc debootstrap openssh-client nmap iproute2 iptables python3-venv make git)

# --- test VMs (`make test-vm`, `pi-k8s testbed up --driver qemu`) --------------------
# Only with --vm, so `make test` does not pay for QEMU. qemu-user-static runs the arm64
# image's second debootstrap stage; e2fsprogs gives mkfs.ext4 -d and debugfs; chrony is
# the NTP server the VM tests run on their bridge address (never chrony's own service).
vm_packages=(qemu-system-x86 qemu-system-arm qemu-utils qemu-user-static e2fsprogs ipxe-qemu chrony)
if [ "${1:-}" = "--vm" ]; then
  packages+=("${vm_packages[@]}")
fi
# --- end of test VMs ------------------------------------------------------------------

if [ "$(id -u)" -ne 0 ]; then
  echo "error: the testbed needs root (rootful podman, debootstrap)." >&2
  echo "hint: run as root, e.g. sudo make demo" >&2
  exit 6
fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "* apt-get install ${missing[*]}"
  apt-get update -q >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
fi

# chrony's own service would set this machine's clock from Debian's pool (the network rule:
# tests talk only to loopback and hosts they made). The VM tests start their own chronyd,
# bound to their bridge; a chrony installed here now is stopped and left disabled.
if [[ " ${missing[*]:-} " == *" chrony "* ]]; then
  if [ -d /run/systemd/system ]; then
    systemctl disable --now chrony.service >/dev/null 2>&1 || true
  else
    service chrony stop >/dev/null 2>&1 || true
    update-rc.d chrony disable >/dev/null 2>&1 || true
  fi
fi

# Podman on machines like our CI: no CAP_SYS_RESOURCE (podman's default nofile limit
# cannot be set), a hybrid cgroup layout crun refuses (runc works), no systemd as PID 1
# (cgroupfs manager, file events logger).
dropin=/etc/containers/containers.conf.d/50-pi-k8s.conf
want=$(cat <<'CONF'
# Written by pi-k8s scripts/setup-host.sh: settings rootful podman needs here.
[containers]
default_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]
[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
CONF
)
if [ ! -f "$dropin" ] || [ "$(cat "$dropin")" != "$want" ]; then
  echo "* writing $dropin"
  mkdir -p "$(dirname "$dropin")"
  printf '%s\n' "$want" > "$dropin"
fi
