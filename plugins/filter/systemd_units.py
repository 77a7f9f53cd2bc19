"""``systemd_units``: what ``systemctl show`` says of some units, one dict per unit.

pi_prereq asks systemd about the few units it decides on (swap and time services) with
one ``systemctl show`` instead of ``service_facts``, which lists every unit and was the
slowest task of a no-op run (docs/performance.md)::

    "{{ out.stdout | pik8s.cluster.systemd_units(names) }}"

gives ``{name: {"load": LoadState, "active": ActiveState, "enabled": UnitFileState}}``
for each of ``names``, in the order ``systemctl show --property=LoadState,ActiveState,
UnitFileState NAME...`` printed them (one block per name, blank lines between; an alias
prints its target's block, so the blocks are matched to the names asked, not to their
``Id``). A unit systemd does not know has ``load`` ``not-found``.
"""

from __future__ import annotations

from collections.abc import Sequence

from ansible.errors import AnsibleFilterError

KEYS = {"LoadState": "load", "ActiveState": "active", "UnitFileState": "enabled"}


def systemd_units(stdout: str, names: Sequence[str]) -> dict[str, dict[str, str]]:
    blocks = [block for block in stdout.strip().split("\n\n") if block.strip()]
    if len(blocks) != len(names):
        raise AnsibleFilterError(
            f"systemctl show printed {len(blocks)} unit(s) for {len(names)} asked "
            f"({', '.join(names)})"
        )
    units = {}
    for name, block in zip(names, blocks, strict=True):
        values = dict(line.partition("=")[::2] for line in block.splitlines() if "=" in line)
        units[name] = {key: values.get(prop, "") for prop, key in KEYS.items()}
    return units


class FilterModule:
    def filters(self) -> dict[str, object]:
        return {"systemd_units": systemd_units}
