"""Options more than one command declares: one definition each, so that their flags and
help read the same in every command."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

# Which cluster a command works on: a cluster pi-k8s remembers (--cluster), or an
# inventory (--inventory); neither: the only remembered cluster, else inventory/hosts.yml.
ClusterOpt = Annotated[
    str | None,
    typer.Option(
        "--cluster",
        "-c",
        help="A cluster pi-k8s bootstrapped (see `pi-k8s clusters`); default: the only one.",
    ),
]
InventoryOpt = Annotated[
    Path | None,
    typer.Option(
        "--inventory",
        "-i",
        help="The cluster's Ansible inventory (instead of --cluster; default: the only "
        "remembered cluster's, else inventory/hosts.yml).",
    ),
]
# Shared by the commands that run a playbook.
CheckOpt = Annotated[
    bool, typer.Option("--check", help="Dry run: print what would change on each node.")
]
LimitOpt = Annotated[
    str | None, typer.Option("--limit", help="Only these hosts (Ansible pattern).")
]
# Every command that runs a playbook (pi_k8s.fast).
FastOpt = Annotated[
    bool,
    typer.Option(
        "--fast",
        envvar="PI_K8S_FAST",
        help="Run the playbooks with Mitogen (pi-k8s's extra 'fast'): much faster, on a "
        "strategy Ansible deprecates for third parties. PI_K8S_FAST=1 turns it on too.",
    ),
]
# The commands whose playbooks run with become (sudo on the hosts).
AskBecomePassOpt = Annotated[
    bool,
    typer.Option(
        "--ask-become-pass",
        "-K",
        help="Ask for the hosts' sudo password (for hosts whose sudo wants one) and answer "
        "Ansible's prompt with it; it is never put in an argument, a file or a log.",
    ),
]
VerboseOpt = Annotated[bool, typer.Option("--verbose", "-v", help="Stream Ansible's own output.")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print the result as JSON only.")]

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

# The day-2 commands (nodes add/remove, upgrade, reboot): --check stops after the plan.
PlanOpt = Annotated[
    bool, typer.Option("--check", help="Show the plan and its refusals; change nothing.")
]
# The commands that remove something from the hosts.
YesOpt = Annotated[
    bool,
    typer.Option(
        "--yes", "-y", help="Do not ask for confirmation (required when stdin is not a terminal)."
    ),
]

# Which k3s release and where it comes from (bootstrap, upgrade).
K3sVersionOpt = Annotated[
    str | None,
    typer.Option("--k3s-version", help="Pin a release: v1.NN.N+k3sN, e.g. v1.31.4+k3s1."),
]
K3sChannelOpt = Annotated[
    str | None, typer.Option("--k3s-channel", help="stable, latest, testing or v1.NN.")
]
AirgapOpt = Annotated[
    Path | None,
    typer.Option(
        "--airgap",
        help="Directory with each inventory arch's k3s binary (k3s, k3s-arm64, "
        "k3s-armhf) and its line in sha256sum-<arch>.txt.",
    ),
]
MirrorOpt = Annotated[
    str | None,
    typer.Option("--mirror", help="http(s) URL laid out like the k3s release assets."),
]
# Drain, for the commands that take nodes out of service one at a time (upgrade, reboot).
DrainTimeoutOpt = Annotated[
    int, typer.Option("--timeout", help="Seconds drain waits for a node's pods to leave.")
]
DrainForceOpt = Annotated[
    bool,
    typer.Option("--force", help="Drain also deletes pods no controller manages."),
]
MaxUnavailableOpt = Annotated[
    int,
    typer.Option("--max-unavailable", help="Agents taken out of service at a time (servers: one)."),
]
