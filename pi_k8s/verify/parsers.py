"""Pure parsers of what the hosts and the API server print; tested from fixtures."""

from __future__ import annotations

import json

from pi_k8s.verify.model import NodeStatus


def parse_controllers(text: str) -> set[str]:
    """``/sys/fs/cgroup/cgroup.controllers``: space-separated controller names."""
    return set(text.split())


# Bits of ``vcgencmd get_throttled`` (Raspberry Pi documentation, os.adoc).
THROTTLE_BITS = {
    0: "under-voltage detected",
    1: "arm frequency capped",
    2: "currently throttled",
    3: "soft temperature limit active",
    16: "under-voltage has occurred",
    17: "arm frequency capping has occurred",
    18: "throttling has occurred",
    19: "soft temperature limit has occurred",
}


def parse_proc_cgroups(text: str) -> set[str]:
    """``/proc/cgroups`` (cgroup v1): the controllers whose ``enabled`` column is 1."""
    enabled = set()
    for line in text.splitlines():
        fields = line.split()
        if len(fields) == 4 and not line.startswith("#") and fields[3] == "1":
            enabled.add(fields[0])
    return enabled


# The same four conditions by name: bit n (0-3) is "now", bit 16 + n "since boot".
THROTTLE_CONDITIONS = (
    "under-voltage",
    "arm frequency capped",
    "throttled",
    "soft temperature limit",
)


def throttled_bits(output: str) -> int:
    """``throttled=0x50005`` (or a bare ``0x50005``) → 0x50005; ValueError when not hex."""
    value = output.strip().partition("=")[2] or output.strip()
    return int(value, 16)


def decode_throttled(output: str) -> list[str]:
    """``throttled=0x50005`` → the list of conditions it flags (empty when healthy)."""
    bits = throttled_bits(output)
    return [text for bit, text in sorted(THROTTLE_BITS.items()) if bits & (1 << bit)]


def split_throttled(output: str) -> tuple[list[str], list[str]]:
    """``throttled=0x50005`` → (conditions now, conditions since boot), by name."""
    bits = throttled_bits(output)
    now = [c for n, c in enumerate(THROTTLE_CONDITIONS) if bits & (1 << n)]
    since = [c for n, c in enumerate(THROTTLE_CONDITIONS) if bits & (1 << (16 + n))]
    return now, since


def parse_nodes(text: str) -> list[NodeStatus]:
    """``kubectl get nodes -o json`` → one NodeStatus per node."""
    data = json.loads(text)
    nodes = []
    for item in data.get("items", []):
        meta = item.get("metadata", {})
        status = item.get("status", {})
        ready = next(
            (c for c in status.get("conditions", []) if c.get("type") == "Ready"),
            {"status": "Unknown", "reason": "NoReadyCondition"},
        )
        labels = meta.get("labels", {}) or {}
        roles = sorted(
            key.rsplit("/", 1)[1] for key in labels if key.startswith("node-role.kubernetes.io/")
        )
        internal = next(
            (a["address"] for a in status.get("addresses", []) if a.get("type") == "InternalIP"),
            None,
        )
        info = status.get("nodeInfo", {})
        nodes.append(
            NodeStatus(
                name=meta.get("name", ""),
                ready=ready.get("status", "Unknown"),
                reason=ready.get("reason", ""),
                kubelet_version=info.get("kubeletVersion", ""),
                arch=info.get("architecture", ""),
                roles=roles,
                internal_ip=internal,
            )
        )
    return nodes


def parse_pods(text: str) -> list[tuple[str, str]]:
    """``kubectl get pods -o json`` → (name, phase) of each pod."""
    data = json.loads(text)
    return [
        (item["metadata"]["name"], item.get("status", {}).get("phase", "Unknown"))
        for item in data.get("items", [])
    ]


def parse_nslookup(output: str) -> str | None:
    """The address nslookup gave for kubernetes.default, or None when it failed."""
    answer = output.split("Name:", 1)
    if len(answer) < 2:
        return None
    for line in answer[1].splitlines():
        if line.strip().startswith("Address"):
            return line.split(":", 1)[1].strip().split()[0]
    return None
