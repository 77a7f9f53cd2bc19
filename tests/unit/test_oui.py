"""The shipped Raspberry Pi OUI list and MAC matching."""

from __future__ import annotations

import pytest

from pi_k8s import oui

# The MA-L blocks in /work/shared/research/pi-k3s-facts.md section 1 (IEEE oui.txt).
PI_BLOCKS = ["B8:27:EB", "DC:A6:32", "E4:5F:01", "28:CD:C1", "D8:3A:DD", "2C:CF:67", "88:A2:9E"]


def test_list_carries_source_and_date() -> None:
    data = oui.load()
    assert "IEEE" in data.source
    assert data.date == "2025-11-30"


@pytest.mark.parametrize("prefix", PI_BLOCKS)
def test_every_pi_block_matches(prefix: str) -> None:
    assert oui.is_raspberry_pi(f"{prefix}:12:34:56")
    assert "Raspberry Pi" in (oui.vendor(f"{prefix.lower()}:ab:cd:ef") or "")


@pytest.mark.parametrize(
    "mac",
    ["52:54:00:12:34:56", "00:1a:2b:3c:4d:5e", "b8:27:ec:00:00:01", None, "", "not-a-mac", "b8:27"],
)
def test_non_pi_and_bad_input_do_not_match(mac: str | None) -> None:
    assert not oui.is_raspberry_pi(mac)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("DC-A6-32-01-02-03", "dc:a6:32:01:02:03"),
        ("dca6.3201.0203", "dc:a6:32:01:02:03"),
        (" DC:A6:32:01:02:03 ", "dc:a6:32:01:02:03"),
    ],
)
def test_normalise_mac(raw: str, expected: str) -> None:
    assert oui.normalise_mac(raw) == expected


def test_normalise_rejects_odd_digits() -> None:
    with pytest.raises(ValueError, match="not a MAC"):
        oui.normalise_mac("dc:a6:3")
