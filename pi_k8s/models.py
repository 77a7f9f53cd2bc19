"""Data passed between steps: discovery → inventory → runner → verify."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class PiHost:
    """One host found on the LAN, as discovery identified it.

    ``is_pi`` is the verdict (device tree / revision code confirmed over SSH, or the
    MAC OUI when SSH could not confirm). ``ssh_error`` names why a host that answered
    on the network could not be probed (``auth failed``, ``refused``, ``timeout``).
    """

    ip: str
    mac: str | None = None
    hostname: str | None = None
    is_pi: bool = False
    oui_match: bool = False
    model: str | None = None  # /sys/firmware/devicetree/base/model
    compatible: list[str] = field(default_factory=list)
    revision: str | None = None  # /proc/cpuinfo Revision, hex
    board_type: str | None = None  # decoded from the revision code, e.g. "4B"
    processor: str | None = None  # BCM2711 …
    memory_mb: int | None = None  # MemTotal, rounded to MB
    board_memory_mb: int | None = None  # the RAM the revision code says the board has
    kernel_arch: str | None = None  # uname -m
    userland_arch: str | None = None  # dpkg --print-architecture
    os_id: str | None = None  # raspios | debian | ubuntu | dietpi | …
    os_pretty: str | None = None
    os_version: str | None = None
    memory_cgroup: bool | None = None
    root_device: str | None = None  # e.g. /dev/mmcblk0p2, /dev/sda2, /dev/nvme0n1p2
    root_kind: str | None = None  # sd | usb | nvme | emmc | other | unknown
    ssh_user: str | None = None
    ssh_error: str | None = None
    # tcp, neighbour, mdns, named (an address given), ssh-config (a Host alias), ssh
    sources: list[str] = field(default_factory=list)
    # The name SSH reached the host by when it is not ``ip``: a Host alias of the OpenSSH
    # config (``discover --host``); the inventory then uses it as ansible_host.
    ssh_host: str | None = None
    # The OpenSSH config file discover read, when not ~/.ssh/config (``--ssh-config``);
    # the inventory hands it to Ansible's ssh (-F).
    ssh_config: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PiHost:
        known = {f for f in cls.__dataclass_fields__}
        return cls(**{k: v for k, v in data.items() if k in known})
