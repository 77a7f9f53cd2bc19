"""The one command status runs on each host, and the pure parser of what it prints.

One SSH round trip per host: ``script(server)`` prints each fact after a marker line
(pi_k8s.probe.section_script); ``parse(output)`` reads them back. Absent facts stay
None (no vcgencmd: no throttling; no thermal zone: no temperature), never guessed.

Sources: the device-tree model (``/sys/firmware/devicetree/base/model``, or
``/proc/device-tree/model``), ``/sys/class/thermal/thermal_zone0/temp`` (millidegrees),
``vcgencmd get_throttled`` (Raspberry Pi documentation, os.adoc), ``df -Pk`` (POSIX
output), ``/proc/uptime``.
"""

from __future__ import annotations

from pi_k8s import probe
from pi_k8s.status.model import Disk, HostFacts, Throttling
from pi_k8s.verify.model import K3S_BINARY
from pi_k8s.verify.parsers import split_throttled, throttled_bits

RANCHER = "/var/lib/rancher"
# How long a server's kubectl may take before the probe gives up on the node list.
KUBECTL_TIMEOUT_S = 15

COMMANDS = {
    "model": probe.PROBE_COMMANDS["model"],
    "temp": "cat /sys/class/thermal/thermal_zone0/temp",
    "throttled": "command -v vcgencmd >/dev/null && vcgencmd get_throttled",
    "uptime": "cat /proc/uptime",
    "df": f"df -Pk / {RANCHER}",
}
# Servers also print the API's node list: its exit code on the first line, then the
# output (or the error) of kubectl.
NODE_LIST = {
    "nodes": (
        f"out=$(timeout {KUBECTL_TIMEOUT_S} {K3S_BINARY} kubectl get nodes -o json 2>&1); "
        'echo "$?"; printf "%s\\n" "$out"'
    )
}


def script(server: bool) -> str:
    """The shell script for one host (POSIX sh); a server's also asks for the node list."""
    return probe.section_script({**COMMANDS, **(NODE_LIST if server else {})})


def parse(output: bytes) -> HostFacts:
    """The script's output → HostFacts; a section that is missing or odd stays None."""
    sections = probe.split_sections(output)
    model = probe.nul_strings(sections.get("model", ""))
    return HostFacts(
        pi_model=model[0] if model else None,
        temperature_c=parse_temperature(sections.get("temp")),
        throttling=parse_throttled(sections.get("throttled")),
        disks=parse_df(sections.get("df", "")),
        uptime_s=parse_uptime(sections.get("uptime")),
        node_list=parse_node_list(sections.get("nodes")),
    )


def parse_temperature(text: str | None) -> float | None:
    """``48312`` (millidegrees Celsius) → 48.3; None when absent or not a number."""
    try:
        return round(int((text or "").strip()) / 1000, 1)
    except ValueError:
        return None


def parse_throttled(text: str | None) -> Throttling | None:
    """``throttled=0x50005`` → raw value and the conditions now and since boot."""
    if not text or not text.strip():
        return None
    try:
        bits = throttled_bits(text)
    except ValueError:
        return None
    now, since = split_throttled(text)
    return Throttling(raw=hex(bits), now=now, since_boot=since)


def parse_uptime(text: str | None) -> float | None:
    """``/proc/uptime``'s first field, in seconds."""
    fields = (text or "").split()
    try:
        return float(fields[0]) if fields else None
    except ValueError:
        return None


def parse_df(text: str) -> list[Disk]:
    """``df -Pk / /var/lib/rancher``: / always; /var/lib/rancher only when it is another
    filesystem (df prints nothing for it when it does not exist)."""
    lines = [line.split() for line in text.splitlines()[1:] if line.strip()]
    disks: list[Disk] = []
    for path, fields in zip(("/", RANCHER), lines, strict=False):
        if len(fields) < 6 or not fields[1].isdigit() or not fields[3].isdigit():
            continue
        mount = " ".join(fields[5:])
        if any(d.mount == mount for d in disks):
            continue
        disks.append(
            Disk(
                path=path,
                mount=mount,
                free_mb=int(fields[3]) // 1024,
                size_mb=int(fields[1]) // 1024,
            )
        )
    return disks


def parse_node_list(text: str | None) -> tuple[int, str] | None:
    """The ``nodes`` section → (kubectl's exit code, its output); None when absent."""
    if text is None:
        return None
    first, _, rest = text.partition("\n")
    try:
        return int(first.strip()), rest
    except ValueError:
        return 1, text
