"""The JSON Schemas (draft 2020-12) of every command's ``--json`` output, shipped in the
package as ``pi_k8s/schemas/NAME.schema.json``: one per command (``nodes add`` is
``nodes-add``, ``backup list`` is ``backup-list``, ``testbed up`` and ``testbed status``
share ``testbed``).

With ``PI_K8S_CHECK_JSON=1`` in the environment, the CLI checks each output against its
schema before printing it, and fails (exit 1) on a mismatch: the test suite runs with it on,
so every ``--json`` any test reads has been checked (docs/testing.md).
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

SCHEMA_DIR = Path(__file__).resolve().parent
CHECK_ENV = "PI_K8S_CHECK_JSON"


def names() -> list[str]:
    """Every schema shipped, by name."""
    return sorted(p.name.removesuffix(".schema.json") for p in SCHEMA_DIR.glob("*.schema.json"))


@cache
def load(name: str) -> dict[str, Any]:
    """The schema of one command's JSON; FileNotFoundError for a name not shipped."""
    return json.loads((SCHEMA_DIR / f"{name}.schema.json").read_text(encoding="utf-8"))


def problems(name: str, data: Any) -> list[str]:
    """Where ``data`` breaks schema ``name``, one line each (empty: it conforms)."""
    import jsonschema

    validator = jsonschema.Draft202012Validator(load(name))
    return [
        f"{'/'.join(map(str, e.absolute_path)) or '(top)'}: {e.message}"
        for e in sorted(validator.iter_errors(data), key=lambda e: list(map(str, e.path)))
    ]
