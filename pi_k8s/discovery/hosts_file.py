"""Save what `discover` found as hosts.json."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

from pi_k8s import paths
from pi_k8s.models import PiHost


def write_hosts_json(hosts: Sequence[PiHost], path: Path) -> None:
    """Save hosts as ``pi-k8s discover --json`` prints them: a JSON list of PiHost dicts.

    ``inventory.load_hosts`` reads it back (``pi-k8s inventory --from``).
    """
    paths.write_atomic(path, json.dumps([h.to_dict() for h in hosts], indent=2) + "\n")
