"""A k3s inventory over testbed hosts, for tests and benchmarks (not part of pi-k8s).

Users write their inventory with `pi-k8s inventory`; tests that need a fixed role layout
on testbed hosts build it here instead. Benchmarks import it too: they put the
repository root on ``sys.path``.
"""

from __future__ import annotations

import json

from pi_k8s.testbed import Testbed
from tests import k3s_release

# Real k3s in a container: containerd's default overlayfs snapshotter cannot stack on the
# container's own overlay root, so the agents use the native one, as k3s-io/k3s-ansible's
# CI does for k3s in privileged containers (extra_server_args/extra_agent_args
# "--snapshotter=native"). The stand-in has no containerd and needs nothing.
REAL_K3S_CONFIG = {"snapshotter": "native"}


def cluster_inventory(
    bed: Testbed,
    servers: list[str],
    agents: list[str] | None = None,
    **cluster_vars: object,
) -> dict[str, object]:
    """A k3s inventory (``k3s_cluster`` → ``server``, ``agent``) over testbed hosts.

    The hosts' addresses and SSH settings come from the testbed's ``hosts.json``;
    ``cluster_vars`` become the group's variables (``cluster_name`` defaults to the
    testbed's name). Under real k3s (PI_K8S_E2E_K3S) the servers' and agents' k3s
    config gains ``snapshotter: native`` (REAL_K3S_CONFIG). Write it with ``yaml.safe_dump``.
    """
    access = json.loads(bed.inventory.read_text())["all"]
    agents = agents or []
    missing = [h for h in servers + agents if h not in access["hosts"]]
    if missing:
        raise ValueError(
            f"Testbed {bed.name!r} has no host {', '.join(missing)}; "
            f"its hosts: {', '.join(access['hosts'])}."
        )

    if k3s_release.is_real():
        for name in ("k3s_server_config", "k3s_agent_config"):
            given = cluster_vars.get(name) or {}
            assert isinstance(given, dict), name
            cluster_vars[name] = {**REAL_K3S_CONFIG, **given}

    def group(names: list[str]) -> dict[str, object]:
        return {"hosts": {n: {"ansible_host": access["hosts"][n]["ansible_host"]} for n in names}}

    return {
        "all": {
            "children": {
                "k3s_cluster": {
                    "children": {"server": group(servers), "agent": group(agents)},
                    "vars": {**access["vars"], "cluster_name": bed.name, **cluster_vars},
                }
            }
        }
    }
