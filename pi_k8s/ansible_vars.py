"""An Ansible inventory as Ansible sees it: its groups and every host's variables.

The one loader of an inventory's variables (inventory file, group_vars, host_vars) for
the checks run before Ansible (pi_k8s.release) and for verify's targets. One
``VariableManager`` serves every host; nothing here touches ``os.environ``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pi_k8s.errors import SpecError


@dataclass
class AnsibleInventory:
    groups: dict[str, list[str]]  # group → its hosts, in inventory order
    hostvars: dict[str, dict[str, Any]]  # host → every variable Ansible gives it


def match_hosts(inventory: Path, pattern: str, limit: str | None = None) -> list[str]:
    """The hosts of ``inventory`` that ``pattern`` names, within ``limit`` (both Ansible
    patterns, as ``ansible-playbook --limit`` reads them), sorted by name. A pattern that
    matches nothing gives no hosts, without Ansible's warning (the caller reports it)."""
    from ansible import constants
    from ansible.inventory.manager import InventoryManager
    from ansible.parsing.dataloader import DataLoader

    load(inventory)  # the same refusals: a missing file, an inventory without hosts
    inv = InventoryManager(loader=DataLoader(), sources=[str(inventory)])
    mismatch = constants.HOST_PATTERN_MISMATCH
    constants.HOST_PATTERN_MISMATCH = "ignore"
    try:
        if limit:
            inv.subset(limit)
        return sorted(h.name for h in inv.get_hosts(pattern))
    finally:
        constants.HOST_PATTERN_MISMATCH = mismatch


def load(inventory: Path) -> AnsibleInventory:
    """Read ``inventory`` with Ansible's own loader; SpecError when the file is missing."""
    if not inventory.is_file():
        raise SpecError(
            f"Inventory {inventory} does not exist.",
            hint="Pass --inventory FILE, or make one with `pi-k8s inventory`.",
        )
    from ansible.inventory.manager import InventoryManager
    from ansible.parsing.dataloader import DataLoader
    from ansible.vars.manager import VariableManager

    loader = DataLoader()
    inv = InventoryManager(loader=loader, sources=[str(inventory)])
    variables = VariableManager(loader=loader, inventory=inv)
    hosts = inv.get_hosts()
    if not hosts:  # Ansible only warns about a file it cannot parse, then runs on nothing
        raise SpecError(
            f"Inventory {inventory} has no hosts: Ansible could not parse it, or it lists none.",
            hint="Check it with `ansible-inventory -i FILE --list`; "
            "`pi-k8s inventory` writes a valid one.",
        )
    return AnsibleInventory(
        groups={g: list(members) for g, members in inv.get_groups_dict().items()},
        hostvars={h.name: dict(variables.get_vars(host=h)) for h in hosts},
    )
