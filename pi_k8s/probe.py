"""Parsers for what a host tells us about itself: pure functions, text in, values out.

Discovery runs one SSH command (``PROBE_SCRIPT``) that prints each file or command
output after a marker line; ``split_sections`` cuts that output apart and ``identify``
turns the sections into the fields of a ``PiHost``. Every parser here is tested from
fixture files under ``tests/fixtures/discovery/<kind>/``.

Sources: raspberrypi/documentation ``computers/raspberry-pi/revision-codes.adoc``
(revision codes), ``/proc/device-tree`` (model, compatible), os-release(5),
pi-gen's ``/etc/rpi-issue``, DietPi's ``/boot/dietpi/.version``.
"""

from __future__ import annotations

import ipaddress
import json
import re
import shlex
from dataclasses import dataclass
from typing import Any

# ----------------------------------------------------------------------------- revision codes

_NEW_TYPES = {
    0x00: "A",
    0x01: "B",
    0x02: "A+",
    0x03: "B+",
    0x04: "2B",
    0x05: "Alpha",
    0x06: "CM1",
    0x08: "3B",
    0x09: "Zero",
    0x0A: "CM3",
    0x0C: "Zero W",
    0x0D: "3B+",
    0x0E: "3A+",
    0x0F: "Internal use only",
    0x10: "CM3+",
    0x11: "4B",
    0x12: "Zero 2 W",
    0x13: "400",
    0x14: "CM4",
    0x15: "CM4S",
    0x16: "Internal use only",
    0x17: "5",
    0x18: "CM5",
    0x19: "500",
    0x1A: "CM5 Lite",
}
_PROCESSORS = {0: "BCM2835", 1: "BCM2836", 2: "BCM2837", 3: "BCM2711", 4: "BCM2712"}
_MANUFACTURERS = {
    0: "Sony UK",
    1: "Egoman",
    2: "Embest",
    3: "Sony Japan",
    4: "Embest",
    5: "Stadium",
}
_MEMORY_MB = {0: 256, 1: 512, 2: 1024, 3: 2048, 4: 4096, 5: 8192, 6: 16384}

# Old-style codes (before the Pi 2): type, board revision, memory, manufacturer.
_OLD_CODES: dict[int, tuple[str, str, int, str]] = {
    0x0002: ("B", "1.0", 256, "Egoman"),
    0x0003: ("B", "1.0", 256, "Egoman"),
    0x0004: ("B", "2.0", 256, "Sony UK"),
    0x0005: ("B", "2.0", 256, "Qisda"),
    0x0006: ("B", "2.0", 256, "Egoman"),
    0x0007: ("A", "2.0", 256, "Egoman"),
    0x0008: ("A", "2.0", 256, "Sony UK"),
    0x0009: ("A", "2.0", 256, "Qisda"),
    0x000D: ("B", "2.0", 512, "Egoman"),
    0x000E: ("B", "2.0", 512, "Sony UK"),
    0x000F: ("B", "2.0", 512, "Egoman"),
    0x0010: ("B+", "1.2", 512, "Sony UK"),
    0x0011: ("CM1", "1.0", 512, "Sony UK"),
    0x0012: ("A+", "1.1", 256, "Sony UK"),
    0x0013: ("B+", "1.2", 512, "Embest"),
    0x0014: ("CM1", "1.0", 512, "Embest"),
    0x0015: ("A+", "1.1", 256, "Embest"),  # 256 MB or 512 MB; the code does not say
}


@dataclass(frozen=True)
class Revision:
    """A decoded ``/proc/cpuinfo`` Revision code."""

    code: str  # as read, lower-case hex without 0x
    board_type: str  # "4B", "Zero 2 W", "CM4", …
    board_revision: str  # "1.4"
    memory_mb: int | None  # None when the code says "other"
    processor: str
    manufacturer: str
    new_style: bool
    warranty_void: bool  # over-voltage or over-clocking was set at some point

    def to_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "board_type": self.board_type,
            "board_revision": self.board_revision,
            "memory_mb": self.memory_mb,
            "processor": self.processor,
            "manufacturer": self.manufacturer,
            "new_style": self.new_style,
            "warranty_void": self.warranty_void,
        }


def decode_revision(code: str) -> Revision | None:
    """Decode a Revision code (``c03111``, ``0x0002``, ``1000002``); None if unknown.

    New-style codes (bit 23 set) are decoded field by field, so boards newer than this
    table still give memory and processor; bit 25 is the warranty bit. Old-style codes
    are looked up; an over-volted old-style board has bit 24 set (``1000002``).
    """
    text = code.strip().lower().removeprefix("0x")
    try:
        value = int(text, 16)
    except ValueError:
        return None
    if (value >> 23) & 1:
        type_id = (value >> 4) & 0xFF
        mem = (value >> 20) & 0x7
        return Revision(
            code=text,
            board_type=_NEW_TYPES.get(type_id, f"unknown type 0x{type_id:02x}"),
            board_revision=f"1.{value & 0xF}",
            memory_mb=_MEMORY_MB.get(mem),
            processor=_PROCESSORS.get((value >> 12) & 0xF, "unknown"),
            manufacturer=_MANUFACTURERS.get((value >> 16) & 0xF, "unknown"),
            new_style=True,
            warranty_void=bool((value >> 25) & 1),
        )
    old = _OLD_CODES.get(value & 0xFFFFFF)
    if old is None:
        return None
    board_type, board_rev, memory_mb, maker = old
    return Revision(
        code=text,
        board_type=board_type,
        board_revision=board_rev,
        memory_mb=memory_mb,
        processor="BCM2835",
        manufacturer=maker,
        new_style=False,
        warranty_void=bool((value >> 24) & 1),
    )


def parse_cpuinfo(text: str) -> dict[str, str]:
    """The per-board trailer of ``/proc/cpuinfo``: Hardware, Revision, Serial, Model.

    Per-CPU keys (processor, BogoMIPS …) repeat and are not returned.
    """
    wanted = {"Hardware", "Revision", "Serial", "Model"}
    found: dict[str, str] = {}
    for line in text.splitlines():
        key, sep, value = line.partition(":")
        key = key.strip()
        if sep and key in wanted:
            found[key] = value.strip()
    return found


# ----------------------------------------------------------------------------- device tree

# compatible string → board type, as the revision code names it.
_COMPATIBLE_BOARDS = {
    "raspberrypi,model-b": "B",
    "raspberrypi,model-b-plus": "B+",
    "raspberrypi,model-a-plus": "A+",
    "raspberrypi,2-model-b": "2B",
    "raspberrypi,3-model-b": "3B",
    "raspberrypi,3-model-b-plus": "3B+",
    "raspberrypi,3-model-a-plus": "3A+",
    "raspberrypi,model-zero": "Zero",
    "raspberrypi,model-zero-w": "Zero W",
    "raspberrypi,model-zero-2-w": "Zero 2 W",
    "raspberrypi,4-model-b": "4B",
    "raspberrypi,400": "400",
    "raspberrypi,4-compute-module": "CM4",
    "raspberrypi,4-compute-module-s": "CM4S",
    "raspberrypi,3-compute-module": "CM3",
    "raspberrypi,3-compute-module-plus": "CM3+",
    "raspberrypi,5-model-b": "5",
    "raspberrypi,5-compute-module": "CM5",
    "raspberrypi,500": "500",
}


def nul_strings(raw: str) -> list[str]:
    """Split a device-tree property (NUL-separated, NUL-terminated) into its strings."""
    return [part.strip() for part in raw.split("\0") if part.strip()]


def parse_devicetree(model: str | None, compatible: str | None) -> dict[str, Any]:
    """Model, compatible list and what they say about the board.

    ``is_pi`` is True when a ``raspberrypi,…`` compatible entry is present, or (older
    kernels without one) the model string starts with "Raspberry Pi".
    """
    model_strings = nul_strings(model or "")
    model_name = model_strings[0] if model_strings else None
    compat = nul_strings(compatible or "")
    board = next((_COMPATIBLE_BOARDS[c] for c in compat if c in _COMPATIBLE_BOARDS), None)
    is_pi = any(c.startswith("raspberrypi,") for c in compat) or bool(
        model_name and model_name.startswith("Raspberry Pi")
    )
    return {"model": model_name, "compatible": compat, "board_type": board, "is_pi": is_pi}


# ----------------------------------------------------------------------------- OS


def parse_os_release(text: str) -> dict[str, str]:
    """os-release(5): KEY=value lines, values optionally quoted with shell rules."""
    result: dict[str, str] = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, value = line.partition("=")
        try:
            words = shlex.split(value)
        except ValueError:
            words = [value.strip("\"'")]
        result[key.strip()] = " ".join(words)
    return result


def parse_dietpi_version(text: str) -> str | None:
    """``/boot/dietpi/.version`` (shell vars) → ``9.8.0``; None if it is not there."""
    values = parse_os_release(text)
    core = values.get("G_DIETPI_VERSION_CORE")
    sub = values.get("G_DIETPI_VERSION_SUB")
    rc = values.get("G_DIETPI_VERSION_RC")
    if core is None or sub is None:
        return None
    return f"{core}.{sub}.{rc or 0}"


def identify_os(
    os_release: str | None, rpi_issue: str | None = None, dietpi_version: str | None = None
) -> dict[str, str | None]:
    """Which OS: ``raspios`` (os-release says Debian/Raspbian and /etc/rpi-issue exists),
    ``dietpi`` (its version file exists), else os-release's ID (ubuntu, debian …).
    """
    rel = parse_os_release(os_release or "")
    os_id = rel.get("ID") or None
    pretty = rel.get("PRETTY_NAME") or rel.get("NAME") or None
    version = rel.get("VERSION_ID") or None
    dietpi = parse_dietpi_version(dietpi_version or "")
    if dietpi is not None:
        base = pretty or "Debian"
        return {"os_id": "dietpi", "os_pretty": f"DietPi v{dietpi} ({base})", "os_version": dietpi}
    pi_gen = bool(rpi_issue and rpi_issue.startswith("Raspberry Pi reference"))
    # ID, not ID_LIKE: Ubuntu is "like debian" but never Raspberry Pi OS. A Raspbian
    # userland without pi-gen's marker is still Pi OS.
    if (pi_gen and os_id == "debian") or os_id == "raspbian":
        return {"os_id": "raspios", "os_pretty": pretty, "os_version": version}
    return {"os_id": os_id, "os_pretty": pretty, "os_version": version}


# ----------------------------------------------------------------------------- memory, root


def parse_meminfo(text: str) -> int | None:
    """MemTotal in MB (rounded), or None when the line is missing."""
    for line in text.splitlines():
        key, _, rest = line.partition(":")
        if key.strip() == "MemTotal":
            fields = rest.split()
            if not fields:
                return None
            kb = int(fields[0])
            unit = fields[1].lower() if len(fields) > 1 else "kb"
            if unit != "kb":
                return None
            return round(kb / 1024)
    return None


def memory_cgroup_active(controllers: str | None, proc_cgroups: str | None = None) -> bool | None:
    """Is the memory cgroup controller usable? None when neither file could be read.

    cgroup v2: ``memory`` listed in ``/sys/fs/cgroup/cgroup.controllers`` (what k3s
    checks). cgroup v1 hosts have no such file: then the ``enabled`` column of the
    ``memory`` line in ``/proc/cgroups``.
    """
    if controllers is not None:
        return "memory" in controllers.split()
    if proc_cgroups is None:
        return None
    for line in proc_cgroups.splitlines():
        fields = line.split()
        if len(fields) == 4 and fields[0] == "memory":
            return fields[3] == "1"
    return False


def parse_mmc_types(text: str) -> dict[str, str]:
    """Lines ``/sys/block/mmcblk0/device/type SD`` → ``{"mmcblk0": "SD"}``."""
    types: dict[str, str] = {}
    for line in text.splitlines():
        parts = line.split()
        if len(parts) == 2:
            match = re.search(r"/(mmcblk\d+)/", parts[0])
            if match:
                types[match.group(1)] = parts[1]
    return types


def root_kind(source: str | None, mmc_types: dict[str, str] | None = None) -> str:
    """What the root filesystem lives on, from ``findmnt -no SOURCE /``.

    ``mmcblk*`` is the SD card, unless the kernel says the device is MMC (a Compute
    Module's eMMC); ``sd*`` is USB storage on a Pi (it has no SATA); ``nvme*`` is NVMe.
    Overlay, network and mapper roots are ``other``; nothing readable is ``unknown``.
    """
    if not source or not source.strip():
        return "unknown"
    dev = source.strip().splitlines()[0].split("[", 1)[0]  # btrfs: /dev/sda2[/@]
    name = dev.removeprefix("/dev/")
    match = re.match(r"(mmcblk\d+)(p\d+)?$", name)
    if match:
        kind = (mmc_types or {}).get(match.group(1), "SD")
        return "emmc" if kind.upper() == "MMC" else "sd"
    if re.match(r"sd[a-z]+\d*$", name):
        return "usb"
    if re.match(r"nvme\d+n\d+(p\d+)?$", name):
        return "nvme"
    if dev == "/dev/root":  # the kernel's alias for root=; it does not say which device
        return "unknown"
    return "other"


# ----------------------------------------------------------------------------- neighbour table


_Nets = list[ipaddress.IPv4Network] | None


def _in(ip: str, networks: _Nets) -> bool:
    if networks is None:
        return True
    try:
        addr = ipaddress.ip_address(ip)
    except ValueError:
        return False
    return any(addr in net for net in networks)


def parse_ip_neigh_json(
    text: str, networks: list[ipaddress.IPv4Network] | None = None
) -> dict[str, str]:
    """``ip -j neigh show`` → {ip: mac}: IPv4 entries with a link-layer address only.

    FAILED and INCOMPLETE entries carry no ``lladdr`` and are skipped.
    """
    entries = json.loads(text or "[]")
    found: dict[str, str] = {}
    for entry in entries:
        ip, mac = entry.get("dst", ""), entry.get("lladdr")
        if not mac or ":" in ip or "FAILED" in entry.get("state", []):
            continue
        if _in(ip, networks):
            found[ip] = mac.lower()
    return found


def parse_proc_net_arp(
    text: str, networks: list[ipaddress.IPv4Network] | None = None
) -> dict[str, str]:
    """``/proc/net/arp``: skip the header and incomplete entries (flags 0x0, MAC all zero)."""
    found: dict[str, str] = {}
    for line in text.splitlines()[1:]:
        words = line.split()
        if len(words) < 4:
            continue
        ip, flags, mac = words[0], words[2], words[3].lower()
        if int(flags, 16) & 0x2 == 0 or mac == "00:00:00:00:00:00":
            continue
        if _in(ip, networks):
            found[ip] = mac
    return found


# ----------------------------------------------------------------------------- the probe


# One POSIX-sh command, run once per host. Each section's output follows a marker line;
# errors are silenced so a missing file gives an empty (absent) section.
PROBE_COMMANDS: dict[str, str] = {
    "model": "cat /sys/firmware/devicetree/base/model || cat /proc/device-tree/model",
    "compatible": (
        "cat /sys/firmware/devicetree/base/compatible || cat /proc/device-tree/compatible"
    ),
    "cpuinfo": "cat /proc/cpuinfo",
    "meminfo": "cat /proc/meminfo",
    "os_release": "cat /etc/os-release || cat /usr/lib/os-release",
    "rpi_issue": "cat /etc/rpi-issue",
    "dietpi_version": "cat /boot/dietpi/.version",
    "uname_m": "uname -m",
    "dpkg_arch": "dpkg --print-architecture",
    "hostname": "hostname",
    "cgroup_controllers": "cat /sys/fs/cgroup/cgroup.controllers",
    "proc_cgroups": "[ -e /sys/fs/cgroup/cgroup.controllers ] || cat /proc/cgroups",
    "root_source": "findmnt -no SOURCE /",
    "mmc_types": (
        'for f in /sys/block/mmcblk*/device/type; do [ -r "$f" ] && echo "$f $(cat "$f")"; done'
    ),
}
_MARKER = "@@pi-k8s:{}@@"
_MARKER_RE = re.compile(rb"\n@@pi-k8s:([a-z_]+)@@\n")


def section_script(commands: dict[str, str]) -> str:
    """One shell script that prints each command's output after its marker line (stderr
    dropped, always exit 0): one SSH round trip for many facts, cut apart by
    ``split_sections``. Names are lower-case identifiers."""
    return (
        "".join(
            f"printf '\\n{_MARKER.format(name)}\\n'; {{ {cmd}; }} 2>/dev/null; "
            for name, cmd in commands.items()
        )
        + "exit 0"
    )


PROBE_SCRIPT = section_script(PROBE_COMMANDS)


def split_sections(output: bytes) -> dict[str, str]:
    """Cut ``PROBE_SCRIPT`` output into {section: text}; empty sections are left out.

    Text keeps NUL bytes (device-tree strings); a section's trailing newline is removed.
    """
    parts = _MARKER_RE.split(b"\n" + output)
    sections: dict[str, str] = {}
    for i in range(1, len(parts) - 1, 2):
        name = parts[i].decode()
        body = parts[i + 1].decode("utf-8", errors="replace")
        body = body.removesuffix("\n")
        if body.strip("\0\n "):
            sections[name] = body
    return sections


def identify(sections: dict[str, str]) -> dict[str, Any]:
    """The ``PiHost`` fields one probe's sections give, and the Pi verdict.

    A host is a Pi when its device tree says so, or (no device tree readable) when its
    cpuinfo has a BCM Hardware line and a Revision code that decodes.
    """
    dt = parse_devicetree(sections.get("model"), sections.get("compatible"))
    cpu = parse_cpuinfo(sections.get("cpuinfo", ""))
    rev = decode_revision(cpu["Revision"]) if "Revision" in cpu else None
    has_dt = dt["model"] is not None or bool(dt["compatible"])
    is_pi = (
        dt["is_pi"] if has_dt else (rev is not None and cpu.get("Hardware", "").startswith("BCM"))
    )
    if not is_pi:
        rev = None  # a non-Pi's Revision line means nothing to us
    os_info = identify_os(
        sections.get("os_release"), sections.get("rpi_issue"), sections.get("dietpi_version")
    )
    source = sections.get("root_source")
    return {
        "is_pi": is_pi,
        "hostname": (sections.get("hostname") or "").strip() or None,
        "model": dt["model"] or (cpu.get("Model") if is_pi else None),
        "compatible": dt["compatible"],
        "revision": rev.code if rev else None,
        "board_type": (rev.board_type if rev else None) or dt["board_type"],
        "processor": rev.processor if rev else None,
        "board_memory_mb": rev.memory_mb if rev else None,
        "memory_mb": parse_meminfo(sections.get("meminfo", "")),
        "kernel_arch": (sections.get("uname_m") or "").strip() or None,
        "userland_arch": (sections.get("dpkg_arch") or "").strip() or None,
        **os_info,
        "memory_cgroup": memory_cgroup_active(
            sections.get("cgroup_controllers"), sections.get("proc_cgroups")
        ),
        "root_device": source.strip() if source else None,
        "root_kind": root_kind(source, parse_mmc_types(sections.get("mmc_types", ""))),
    }
