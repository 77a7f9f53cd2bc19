"""How hosts reach the cluster's API: the one definition k3s_server, k3s_agent and
k3s_kubeconfig share.

- ``k3s_api_address``: the API address, the first non-empty of the given choices (an
  explicit endpoint, the VIP), else the first server's address. k3s_server uses it for
  the certificate names and (with no choices) for the URL joining servers use, k3s_agent
  for the agents' ``server:`` URL, k3s_kubeconfig for the kubeconfig's ``server:``::

    "{{ groups['server'] | k3s_api_address(hostvars, endpoint, vip) }}"

- ``k3s_node_address``: how other hosts reach one cluster member, from its hostvars::

    "{{ hostvars[inventory_hostname] | k3s_node_address }}"

Over SSH (the inventory's ``ansible_host`` is the address the controller reaches) it is
``ansible_host``, unless the inventory gives the host's own address in ``pi_k8s_ip``
(`pi-k8s inventory` does when ``ansible_host`` is a Host alias of the user's SSH config,
say one reached through a ProxyJump host); with a connection that does not use the
network (podman in the tests, ``local``) it is the IPv4 address the host's facts report
(``default_ipv4``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

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


def k3s_api_address(
    servers: Sequence[str], hostvars: Mapping[str, Mapping[str, object]], *choices: object
) -> str:
    """The first non-empty of ``choices``, else the address of ``servers[0]``."""
    for choice in choices:
        if choice:
            return str(choice)
    if not servers:
        raise AnsibleFilterError(
            "The inventory has no server: the API address is the first server's, "
            "unless an API endpoint or VIP is set"
        )
    return k3s_node_address(hostvars[servers[0]])


class FilterModule:
    def filters(self) -> dict[str, object]:
        return {"k3s_node_address": k3s_node_address, "k3s_api_address": k3s_api_address}
