"""Read the hosts `pi-k8s discover --json` saved (`pi-k8s inventory --from FILE`)."""

from __future__ import annotations

import ipaddress
import json
from pathlib import Path

from pi_k8s.errors import SpecError
from pi_k8s.models import PiHost


def load_hosts(path: str | Path) -> list[PiHost]:
    """Read `pi-k8s discover --json` output; any problem is a SpecError naming the file."""
    path = Path(path)
    hint = "Write it with `pi-k8s discover --json > discovery.json`, or use --discover."
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SpecError(f"{path}: no such discovery file.", hint=hint) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise SpecError(f"{path}: cannot read the discovery file: {exc}.", hint=hint) from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise SpecError(
            f"{path}: not valid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}.",
            hint=hint,
        ) from None
    if not isinstance(data, list):
        raise SpecError(
            f"{path}: expected a JSON list of hosts, got {type(data).__name__}.", hint=hint
        )
    hosts = []
    for i, item in enumerate(data):
        if not isinstance(item, dict) or not isinstance(item.get("ip"), str):
            raise SpecError(f'{path}: host [{i}] is not an object with an "ip".', hint=hint)
        try:
            ipaddress.IPv4Address(item["ip"])
            hosts.append(PiHost.from_dict(item))
        except (TypeError, ValueError) as exc:
            raise SpecError(f"{path}: host [{i}] ({item['ip']}): {exc}.", hint=hint) from None
    return hosts
