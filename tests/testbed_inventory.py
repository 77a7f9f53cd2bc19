"""A k3s inventory over testbed hosts, for tests and benchmarks (not part of pi-k8s).

Users write their inventory with `pi-k8s inventory`; tests that need a fixed role layout
on testbed hosts build it here instead. Benchmarks import it too: they put the
repository root on ``sys.path``.
"""

from __future__ import annotations

import json

from pi_k8s.testbed import Testbed


def cluster_inventory(
    bed: Testbed,
    servers: list[str],
    agents: list[str] | None = None,
    **cluster_vars: object,
) -> dict[str, object]:
    """A k3s inventory (``k3s_cluster`` → ``server``, ``agent``) over testbed hosts.

    The hosts' addresses and SSH settings come from the testbed's ``hosts.json``;
    ``cluster_vars`` become the group's variables (``cluster_name`` defaults to the
    testbed's name). Write it with ``yaml.safe_dump``.
    """
    access = json.loads(bed.inventory.read_text())["all"]
    agents = agents or []
    missing = [h for h in servers + agents if h not in access["hosts"]]
    if missing:
        raise ValueError(
            f"Testbed {bed.name!r} has no host {', '.join(missing)}; "
            f"its hosts: {', '.join(access['hosts'])}."
        )

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
