"""Raspberry Pi MAC prefixes: is this MAC address likely a Pi's?

The list ships as data (``pi_k8s/data/raspberry_pi_oui.json``) with its source and
date, because the ``manuf`` package's copy is from 2022 and misses newer blocks.
A match is only a hint; discovery confirms a Pi over SSH (device tree, revision code).
"""

from __future__ import annotations

import datetime
import json
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources


@dataclass(frozen=True)
class OuiList:
    source: str
    date: str
    vendors: dict[str, str]  # "b8:27:eb" -> vendor name


@lru_cache(maxsize=1)
def load() -> OuiList:
    """The shipped prefix list, read once."""
    return parse(resources.files("pi_k8s").joinpath("data/raspberry_pi_oui.json").read_text())


def parse(text: str) -> OuiList:
    """A prefix list in the shipped JSON format; ValueError for a bad date or prefix.

    A prefix must be three whole bytes: a shorter one would never match a MAC.
    """
    data = json.loads(text)
    date = data["date"]
    try:
        datetime.date.fromisoformat(date)
    except (TypeError, ValueError):
        raise ValueError(f"OUI list date is not an ISO date (YYYY-MM-DD): {date!r}") from None
    vendors = {}
    for entry in data["prefixes"]:
        prefix = normalise_mac(entry["prefix"])
        if len(prefix) != len("b8:27:eb"):
            raise ValueError(f"OUI prefix is not three bytes: {entry['prefix']!r}")
        vendors[prefix] = entry["vendor"]
    return OuiList(source=data["source"], date=date, vendors=vendors)


def normalise_mac(mac: str) -> str:
    """Lower-case, colon-separated: ``B8-27-EB-12-34-56`` → ``b8:27:eb:12:34:56``.

    Accepts ``:``, ``-`` or ``.`` separators and Cisco-style ``b827.eb12.3456``;
    raises ValueError for anything that is not whole bytes of hex.
    """
    digits = mac.strip().lower().replace(":", "").replace("-", "").replace(".", "")
    if not digits or len(digits) % 2 or any(c not in "0123456789abcdef" for c in digits):
        raise ValueError(f"not a MAC address: {mac!r}")
    return ":".join(digits[i : i + 2] for i in range(0, len(digits), 2))


def vendor(mac: str | None) -> str | None:
    """The Raspberry Pi vendor name for ``mac``'s prefix, or None (also for bad input)."""
    if not mac:
        return None
    try:
        prefix = normalise_mac(mac)[:8]
    except ValueError:
        return None
    return load().vendors.get(prefix)


def is_raspberry_pi(mac: str | None) -> bool:
    return vendor(mac) is not None
