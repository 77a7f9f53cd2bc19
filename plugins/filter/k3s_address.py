"""k3s_node_address: how other hosts reach a cluster member, from that member's hostvars.

The one definition of "the first server's address" that k3s_server (joining servers),
k3s_agent (the agents' ``server:`` URL) and k3s_kubeconfig (the kubeconfig's ``server:``)
use when no API endpoint is set::

    "{{ hostvars[groups['server'][0]] | k3s_node_address }}"

Over SSH (the inventory's ``ansible_host`` is the address the controller reaches) it is
``ansible_host``, unless the inventory gives the host's own address in ``pi_k8s_ip``
(`pi-k8s inventory` does when ``ansible_host`` is a Host alias of the user's SSH config,
say one reached through a ProxyJump host); with a connection that does not use the
network (podman in the tests, ``local``) it is the IPv4 address the host's facts report
(``default_ipv4``).
"""

from __future__ import annotations

from collections.abc import Mapping

from ansible.errors import AnsibleFilterError

SSH_CONNECTIONS = ("ssh", "ansible.builtin.ssh", "paramiko", "smart")


def k3s_node_address(hostvars: Mapping[str, object]) -> str:
    host = hostvars.get("inventory_hostname", "this host")
    connection = hostvars.get("ansible_connection") or "ssh"
    if hostvars.get("pi_k8s_ip"):
        return str(hostvars["pi_k8s_ip"])
    if connection in SSH_CONNECTIONS and hostvars.get("ansible_host"):
        return str(hostvars["ansible_host"])
    facts = hostvars.get("ansible_facts") or {}
    address = (
        (facts.get("default_ipv4") or {}).get("address") if isinstance(facts, Mapping) else None
    )
    if not address:
        raise AnsibleFilterError(
            f"{host} has no address to reach it by: set ansible_host, or gather its facts "
            "(default_ipv4) before this point"
        )
    return str(address)


class FilterModule:
    def filters(self) -> dict[str, object]:
        return {"k3s_node_address": k3s_node_address}
