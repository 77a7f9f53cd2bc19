"""Every module and plugin of the collection carries documentation that parses.

Ansible never reads a module's DOCUMENTATION when it runs it, so a YAML mistake there
(a line ending in a colon, say) breaks only `ansible-doc`, `ansible-lint`'s module checks
and Galaxy's pages: this finds it first. Each file's DOCUMENTATION (and EXAMPLES and
RETURN, where present) is read with `ast`, without importing the plugin, and must be a
YAML mapping (EXAMPLES: a list of tasks).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
FILES = sorted(
    p
    for kind in ("modules", "action", "callback", "lookup")
    for p in (REPO / "plugins" / kind).glob("*.py")
    if not p.name.startswith("_")
)


def _strings(path: Path) -> dict[str, str]:
    found = {}
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant):
            for target in node.targets:
                if isinstance(target, ast.Name) and target.id in {
                    "DOCUMENTATION",
                    "EXAMPLES",
                    "RETURN",
                }:
                    found[target.id] = node.value.value
    return found


@pytest.mark.parametrize("path", FILES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_documentation_parses(path: Path) -> None:
    strings = _strings(path)
    if path.parent.name == "action":
        # An action plugin's documentation is its module stub's (plugins/modules/).
        assert (REPO / "plugins" / "modules" / path.name).exists(), path
        return
    assert "DOCUMENTATION" in strings, path
    doc = yaml.safe_load(strings["DOCUMENTATION"])
    assert isinstance(doc, dict) and doc.get("short_description"), path
    for name, option in (doc.get("options") or {}).items():
        assert option.get("description"), f"{path.name}: option {name} has no description"
    if "EXAMPLES" in strings:
        assert isinstance(yaml.safe_load(strings["EXAMPLES"]), list), path
    if "RETURN" in strings:
        assert isinstance(yaml.safe_load(strings["RETURN"]) or {}, dict), path
