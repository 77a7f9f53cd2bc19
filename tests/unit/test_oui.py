"""The shipped Raspberry Pi OUI list, its loader, and MAC matching."""

from __future__ import annotations

import datetime
import json
import re
from pathlib import Path

import pytest

from pi_k8s import oui

SHIPPED = Path(oui.__file__).parent / "data" / "raspberry_pi_oui.json"

# Raspberry Pi's MA-L blocks in the IEEE MA-L registry
# (oui.txt, https://standards-oui.ieee.org/oui/oui.txt; search "Raspberry Pi").
PI_BLOCKS = ["B8:27:EB", "DC:A6:32", "E4:5F:01", "28:CD:C1", "D8:3A:DD", "2C:CF:67", "88:A2:9E"]


def _list(date: object = "2001-02-03", prefix: str = "AA-BB-CC") -> str:
    return json.dumps(
        {
            "source": "a list made by this test",
            "date": date,
            "prefixes": [{"prefix": prefix, "vendor": "Test Vendor", "registry": "MA-L"}],
        }
    )


def test_source_date_and_prefixes_come_from_the_file() -> None:
    data = oui.parse(_list())
    assert data.source == "a list made by this test"
    assert data.date == "2001-02-03"
    assert data.vendors == {"aa:bb:cc": "Test Vendor"}


def test_load_parses_the_shipped_file() -> None:
    assert oui.load() == oui.parse(SHIPPED.read_text())


@pytest.mark.parametrize("date", ["30.11.2025", "2025-13-01", "", None])
def test_a_date_that_is_not_iso_is_refused(date: object) -> None:
    with pytest.raises(ValueError, match="not an ISO date"):
        oui.parse(_list(date=date))


@pytest.mark.parametrize("prefix", ["B8:27", "B8-27-EB-12"])
def test_a_prefix_that_is_not_three_bytes_is_refused(prefix: str) -> None:
    with pytest.raises(ValueError, match="not three bytes"):
        oui.parse(_list(prefix=prefix))


def test_shipped_list_names_its_source_and_a_past_date() -> None:
    data = oui.load()
    assert "IEEE" in data.source
    assert datetime.date.fromisoformat(data.date) <= datetime.date.today()


def test_shipped_prefixes_are_well_formed_ieee_blocks() -> None:
    """MA-L: universal unicast (the two low bits of the first byte clear).

    CID: the IEEE Company ID quadrant (the first byte's low four bits are 1010).
    """
    entries = json.loads(SHIPPED.read_text())["prefixes"]
    for e in entries:
        assert re.fullmatch(r"[0-9A-F]{2}(:[0-9A-F]{2}){2}", e["prefix"]), e
        first = int(e["prefix"][:2], 16)
        if e["registry"] == "MA-L":
            assert first & 0b11 == 0, e
        else:
            assert e["registry"] == "CID", e
            assert first & 0x0F == 0x0A, e
    assert sorted(e["prefix"] for e in entries if e["registry"] == "MA-L") == sorted(PI_BLOCKS)


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
