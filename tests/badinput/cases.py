"""The corpus's cases, read from cases.yaml with its placeholders filled in (test helper)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from tests.conftest import STANDIN_VERSION

CASES_FILE = Path(__file__).with_name("cases.yaml")
LONG = "é" * 5000  # a very long non-ASCII value


def fill(value: Any, values: dict[str, str]) -> Any:
    """``value`` with every ``{NAME}`` of ``values`` replaced, in strings at any depth."""
    if isinstance(value, str):
        for key, text in values.items():
            value = value.replace("{" + key + "}", text)
        return value
    if isinstance(value, list):
        return [fill(v, values) for v in value]
    if isinstance(value, dict):
        return {k: fill(v, values) for k, v in value.items()}
    return value


def load(section: str, **values: str) -> dict[str, dict[str, Any]]:
    """The cases of ``section`` (host_free or on_hosts), placeholders in ``values`` filled."""
    data = yaml.safe_load(CASES_FILE.read_text(encoding="utf-8"))[section]
    known = {"LONG": LONG, "VERSION": STANDIN_VERSION, **values}
    return {name: fill(case, known) for name, case in data.items()}
