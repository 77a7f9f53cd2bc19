"""Options more than one command declares: one definition each, so that their flags and
help read the same in every command."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

# The cluster's inventory, for the commands that work on a bootstrapped cluster.
InventoryOpt = Annotated[
    Path, typer.Option("--inventory", "-i", help="The cluster's Ansible inventory.")
]
DEFAULT_INVENTORY = Path("inventory/hosts.yml")

SkipWorkloadsOpt = Annotated[
    bool,
    typer.Option(
        "--skip-workloads",
        help="Skip verify's kube-system pods and DNS smoke checks (where no images can be pulled).",
    ),
]

# Where the hosts come from (inventory, and bootstrap with --spec).
FromOpt = Annotated[
    Path | None,
    typer.Option("--from", "-f", help="Hosts from `pi-k8s discover --json` output."),
]
SubnetOpt = Annotated[
    list[str] | None,
    typer.Option("--subnet", help="Discover the hosts on this subnet now (repeatable)."),
]

# The commands that run a playbook over the inventory's hosts.
LimitOpt = Annotated[
    str | None, typer.Option("--limit", help="Only these hosts (Ansible pattern).")
]
VerboseOpt = Annotated[bool, typer.Option("--verbose", "-v", help="Stream Ansible's own output.")]
CheckOpt = Annotated[
    bool, typer.Option("--check", help="Dry run: print what would change on each node.")
]
# The commands that remove something from the hosts.
YesOpt = Annotated[
    bool,
    typer.Option(
        "--yes", "-y", help="Do not ask for confirmation (required when stdin is not a terminal)."
    ),
]
