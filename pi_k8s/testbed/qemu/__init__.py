"""Test VMs that stand in for Raspberry Pis: QEMU guests with their own kernel.

Containers share the host's kernel; these VMs do not, so a cmdline.txt edit + reboot,
the memory cgroup flags, modules, sysctls and an arm64 userland are real here.
``up(..., driver="qemu")`` in the CLI lands in ``vms.up()``; ``status``/``down`` find
the driver recorded in the testbed's state dir (file ``driver``).

Image (built once per arch, cached under ``$PI_K8S_STATE_DIR/images`` or
``$PI_K8S_IMAGE_DIR``, named by a hash of its build inputs so a change rebuilds it):
- ``debootstrap --foreign`` on the host (any arch: it only unpacks), with the container
  image's packages plus ``udev``, the Debian kernel (``linux-image-<arch>``) and
  ``busybox-static``. The kernel, initramfs-tools and busybox are taken out of the second
  stage's package list, so the second stage (``chroot`` + qemu-user-static via
  binfmt_misc for arm64) never runs mkinitramfs under emulation. The kernel package is
  unpacked on the host with ``dpkg-deb -x`` (modules of hardware a VM lacks pruned,
  ``depmod`` run in the chroot).
- The initramfs is ours, written by Python on the host (no tool runs for the target
  arch): the target's static busybox, the virtio/ext4 modules with their dependencies
  from ``modules.dep``, and an ``/init`` that resolves ``root=PARTUUID=`` the way the
  kernel does (MBR disk signature + partition number), mounts it and ``switch_root``s.
- The disk has Raspberry Pi OS's layout: an MBR with the disk id of Pi OS's
  cmdline.txt (``4e639091``), a small p1 and the ext4 root as p2, made with
  ``mkfs.ext4 -E offset=… -d rootfs`` (no loop device). Each VM gets a raw sparse copy
  (``cp --reflink=auto --sparse=always``), so the launcher can read it with debugfs.

Boot and reboot: each VM runs under a supervisor process (``python -m
pi_k8s.testbed.qemu supervise VMDIR``) that, before every boot, reads the first line of
``/boot/firmware/cmdline.txt`` from the VM's disk with ``debugfs`` and passes it as
QEMU's ``-append`` (``console=serial0`` becomes the VM's UART, as the Pi firmware
maps it). QEMU runs with ``-no-reboot``: a guest reboot ends QEMU with a SHUTDOWN
event of reason ``guest-reset`` on its QMP socket, and the supervisor boots it again
with the file's new contents; a guest poweroff (``guest-shutdown``) or ``down`` ends
the supervisor. Each boot is appended to ``boots.log`` in the VM's directory.

Network: a Linux bridge in the host's namespace (``pkv<hash>``, address ``.1`` of the
testbed's subnet) with one persistent tap per VM, like podman's bridge network for the
container testbed. The VMs need distinct addresses that reach each other (k3s agents
join a server on 6443), which QEMU's user-mode networking cannot give. Nothing leaves
the subnet: guests get the bridge as their default route (k3s wants one), and an
iptables rule rejects anything forwarded out of the bridge. So guests have no Debian
mirror and no NTP; every package they need is in the image.

Simulated Pi identity (per VM, from a small "seed" disk read at first boot by
``pi-k8s-vm-seed.service``, an early oneshot unit in the image):
- NIC: the Pi MAC of the board's OUI, renamed ``eth0`` as on a Pi; static address.
- ``/sys/firmware/devicetree/base/{model,compatible,serial-number}``: a read-only tmpfs
  mounted over ``/sys/firmware`` at every boot (a real kernel's sysfs cannot be edited).
- ``/proc/cpuinfo``: the VM's own cpuinfo plus the Pi trailer (Hardware, Revision,
  Serial, Model), bind-mounted read-only over ``/proc/cpuinfo`` at every boot.
- ``/boot/firmware/cmdline.txt`` (the one the launcher boots with), ``config.txt``, the
  ``/boot/*.txt`` placeholders, ``/etc/rpi-issue``, ``/etc/dphys-swapfile``: in the image.
- Not simulated: ``/proc/meminfo`` is the VM's real memory (``--memory``), not the
  board's; ``/boot/firmware`` is a directory on the root filesystem, not a vfat p1.
- SSH host keys are made on the host per VM and injected; known_hosts is written from
  them, and ``up`` logs in once with StrictHostKeyChecking to prove the VM serves them.

Acceleration: KVM only when a 5-second probe boot under ``-accel kvm`` reaches our
initramfs (``/dev/kvm`` alone proves nothing); TCG (``-accel tcg,thread=multi``)
otherwise.
"""

from pi_k8s.testbed.hosts import Progress as Progress
from pi_k8s.testbed.qemu.arch import ARCHES as ARCHES
from pi_k8s.testbed.qemu.arch import Arch as Arch
from pi_k8s.testbed.qemu.arch import get_arch as get_arch
from pi_k8s.testbed.qemu.disk import DISK_SIZE as DISK_SIZE
from pi_k8s.testbed.qemu.disk import ROOT_OFFSET as ROOT_OFFSET
from pi_k8s.testbed.qemu.image import VM_PACKAGES as VM_PACKAGES
from pi_k8s.testbed.qemu.image import Image as Image
from pi_k8s.testbed.qemu.image import ensure_image as ensure_image
from pi_k8s.testbed.qemu.image import image_name as image_name
from pi_k8s.testbed.qemu.image import images_dir as images_dir
from pi_k8s.testbed.qemu.initramfs import INITRAMFS_MODULES as INITRAMFS_MODULES
from pi_k8s.testbed.qemu.kvm import PROBE_MARKER as PROBE_MARKER
from pi_k8s.testbed.qemu.kvm import PROBE_SECONDS as PROBE_SECONDS
from pi_k8s.testbed.qemu.kvm import kvm_works as kvm_works
from pi_k8s.testbed.qemu.supervisor import kernel_append as kernel_append
from pi_k8s.testbed.qemu.supervisor import main as main
from pi_k8s.testbed.qemu.supervisor import read_cmdline as read_cmdline
from pi_k8s.testbed.qemu.supervisor import supervise as supervise
from pi_k8s.testbed.qemu.tools import QEMU_OVERHEAD_MB as QEMU_OVERHEAD_MB
from pi_k8s.testbed.qemu.tools import check_environment as check_environment
from pi_k8s.testbed.qemu.vms import DEFAULT_ARCH as DEFAULT_ARCH
from pi_k8s.testbed.qemu.vms import DEFAULT_CPUS as DEFAULT_CPUS
from pi_k8s.testbed.qemu.vms import DEFAULT_MEMORY_MB as DEFAULT_MEMORY_MB
from pi_k8s.testbed.qemu.vms import DEFAULT_SUBNET as DEFAULT_SUBNET
from pi_k8s.testbed.qemu.vms import DRIVER as DRIVER
from pi_k8s.testbed.qemu.vms import down as down
from pi_k8s.testbed.qemu.vms import recorded_driver as recorded_driver
from pi_k8s.testbed.qemu.vms import status as status
from pi_k8s.testbed.qemu.vms import up as up
