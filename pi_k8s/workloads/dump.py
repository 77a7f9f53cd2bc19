"""The YAML dumper pi-k8s renders workload files with."""

from __future__ import annotations

import yaml


class Dumper(yaml.SafeDumper):
    """safe_dump, with multi-line strings (valuesContent, config files) as literal blocks."""


def _str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    if "\n" in value and all(line == line.rstrip() for line in value.splitlines()):
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style="|")
    return dumper.represent_scalar("tag:yaml.org,2002:str", value)


Dumper.add_representer(str, _str)
