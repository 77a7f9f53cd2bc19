"""The inventory dict → the YAML file: a comment header naming each role, then the data."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import jinja2
import yaml

from pi_k8s import paths
from pi_k8s.inventory.decisions import RoleDecision

_HEADER = jinja2.Environment(
    undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True, autoescape=False
).from_string(
    """\
# Ansible inventory for the k3s cluster "{{ name }}".
# Rendered by `pi-k8s inventory`{% if source %} from {{ source }}{% endif %}; edit the spec
# and render again rather than editing this file.
{% if decisions %}
#
# Roles (the first server initialises the cluster):
{% for d in decisions %}
#   {{ "%-20s" | format(d.name) }} {{ "%-7s" | format(d.role) }} {{ d.reason }}
{% endfor %}
{% endif %}
"""
)


def render_inventory(
    data: dict[str, Any],
    *,
    source: str | None = None,
    decisions: Iterable[RoleDecision] = (),
) -> str:
    """The inventory file's text: a comment header, then the data as YAML."""
    name = data.get("all", {}).get("children", {}).get("k3s_cluster", {}).get("vars", {})
    header = _HEADER.render(
        name=name.get("cluster_name", "?"),
        source=source,
        decisions=[d for d in decisions if d.role != "skipped"],
    )
    body = yaml.safe_dump(
        data, sort_keys=False, default_flow_style=False, allow_unicode=True, width=4096
    )
    return header + "---\n" + body


def write_inventory(
    data: dict[str, Any],
    path: str | Path,
    *,
    source: str | None = None,
    decisions: Iterable[RoleDecision] = (),
) -> Path:
    """Write the inventory atomically (temp file + rename), mode 0644; return the path."""
    path = Path(path)
    text = render_inventory(data, source=source, decisions=decisions)
    path.parent.mkdir(parents=True, exist_ok=True)
    paths.write_atomic(path, text, mode=0o644)
    return path
