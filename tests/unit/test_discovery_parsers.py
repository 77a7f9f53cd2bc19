"""Discovery parsers, one test per fixture file under tests/fixtures/discovery/<kind>/.

Each fixture holds the raw input a host gives (or a kernel table) and the expected
parse, written by hand from the Raspberry Pi documentation and real dumps.
"""

from __future__ import annotations

import ipaddress
import json
from pathlib import Path
from typing import Any

import pytest

from pi_k8s import probe

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "discovery"


def cases(kind: str) -> list[Any]:
    files = sorted((FIXTURES / kind).glob("*.json"))
    assert files, f"no fixtures for {kind}"
    return [pytest.param(json.loads(f.read_text()), id=f.stem) for f in files]


@pytest.mark.parametrize("case", cases("revision"))
def test_revision_code(case: dict[str, Any]) -> None:
    decoded = probe.decode_revision(case["input"])
    assert (decoded.to_dict() if decoded else None) == case["expected"]


@pytest.mark.parametrize("case", cases("devicetree"))
def test_device_tree(case: dict[str, Any]) -> None:
    assert probe.parse_devicetree(**case["input"]) == case["expected"]


@pytest.mark.parametrize("case", cases("os"))
def test_os_release(case: dict[str, Any]) -> None:
    assert probe.identify_os(**case["input"]) == case["expected"]


_NEIGH_PARSERS = {
    "ip-json": probe.parse_ip_neigh_json,
    "proc-arp": probe.parse_proc_net_arp,
}


@pytest.mark.parametrize("case", cases("neighbour"))
def test_neighbour_table(case: dict[str, Any]) -> None:
    raw = case["input"]
    nets = [ipaddress.IPv4Network(n) for n in raw["networks"]] if raw["networks"] else None
    assert _NEIGH_PARSERS[raw["format"]](raw["text"], nets) == case["expected"]


@pytest.mark.parametrize("case", cases("rootdev"))
def test_root_device_kind(case: dict[str, Any]) -> None:
    raw = case["input"]
    types = probe.parse_mmc_types(raw["mmc_types"] or "")
    assert probe.root_kind(raw["source"], types) == case["expected"]


@pytest.mark.parametrize("case", cases("meminfo"))
def test_meminfo(case: dict[str, Any]) -> None:
    assert probe.parse_meminfo(case["input"]) == case["expected"]


@pytest.mark.parametrize("case", cases("cgroups"))
def test_memory_cgroup(case: dict[str, Any]) -> None:
    raw = case["input"]
    assert probe.memory_cgroup_active(raw["controllers"], raw["proc_cgroups"]) == case["expected"]


@pytest.mark.parametrize("case", cases("probe"))
def test_whole_probe_output(case: dict[str, Any]) -> None:
    """The SSH probe's raw output (markers, NUL bytes and all) → PiHost fields."""
    sections = probe.split_sections(case["input"].encode())
    assert probe.identify(sections) == case["expected"]


def test_probe_script_sections_match_the_parser() -> None:
    """Every section the remote script prints is one split_sections cuts out."""
    import subprocess

    out = subprocess.run(["sh", "-c", probe.PROBE_SCRIPT], capture_output=True, check=True).stdout
    sections = probe.split_sections(out)
    # This machine has these for sure; the marker names must round-trip.
    assert {"cpuinfo", "meminfo", "uname_m", "hostname"} <= set(sections)
    assert set(sections) <= set(probe.PROBE_COMMANDS)
    assert (
        sections["uname_m"]
        == subprocess.run(
            ["uname", "-m"], capture_output=True, text=True, check=True
        ).stdout.strip()
    )
