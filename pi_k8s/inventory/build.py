"""Role decisions → the Ansible inventory dict (groups, host and cluster_* variables)."""

from __future__ import annotations

import re
import shlex
from collections.abc import Sequence
from typing import Any

from pi_k8s.inventory.decisions import RoleDecision
from pi_k8s.models import PiHost
from pi_k8s.registries import inventory_value
from pi_k8s.spec import ClusterSpec, HostOverride


def _host_vars(spec: ClusterSpec, h: PiHost, override: HostOverride | None) -> dict[str, Any]:
    hv = host_entry(h, spec.ssh.user)
    if override and override.labels:
        hv["k3s_node_labels"] = dict(override.labels)
    if override and override.taints:
        hv["k3s_node_taints"] = list(override.taints)
    return hv


def host_entry(h: PiHost, user: str | None) -> dict[str, Any]:
    """A host's inventory variables: how to reach it, and what discovery found."""
    # A host discover reached by a Host alias of the SSH config is reached by it again:
    # OpenSSH then applies the same Host block (HostName, Port, User, ProxyJump …).
    # The host's own address then goes in pi_k8s_ip (k3s_node_address: how others reach it).
    hv: dict[str, Any] = {"ansible_host": h.ssh_host or h.ip}
    if h.ssh_host:
        hv["pi_k8s_ip"] = h.ip
    if user:
        hv["ansible_user"] = user
    if h.ssh_config:  # the config discover read instead of ~/.ssh/config
        hv["ansible_ssh_extra_args"] = f"-F {_shell_word(h.ssh_config)}"
    facts = {
        "pi_k8s_mac": h.mac.lower() if h.mac else None,
        "pi_k8s_arch": h.kernel_arch,
        "pi_k8s_userland_arch": h.userland_arch,
        "pi_k8s_model": h.model,
        "pi_k8s_memory_mb": h.memory_mb,
        "pi_k8s_os": h.os_id,
        "pi_k8s_root_kind": h.root_kind,
    }
    hv.update({k: v for k, v in facts.items() if v is not None})
    return hv


def _shell_word(text: str) -> str:
    """Quote for Ansible's shlex split only when needed (ssh expands a bare ~ itself)."""
    return text if re.fullmatch(r"[\w@%+=:,./~-]+", text) else shlex.quote(text)


def inventory_data(
    spec: ClusterSpec,
    decisions: Sequence[RoleDecision],
    overrides: dict[str, tuple[str, HostOverride]],
    lb_nodes: Sequence[str] = (),
) -> dict[str, Any]:
    def group(role: str) -> dict[str, Any]:
        return {
            str(d.host.hostname): _host_vars(
                spec, d.host, overrides.get(str(d.host.hostname), (None, None))[1]
            )
            for d in decisions
            if d.role == role
        }

    servers = [d.host for d in decisions if d.role == "server"]
    gv: dict[str, Any] = {"cluster_name": spec.name}
    if spec.k3s.version:
        gv["cluster_k3s_version"] = spec.k3s.version
    else:
        gv["cluster_k3s_channel"] = spec.k3s.channel
    gv["cluster_api_endpoint"] = servers[0].ip
    if spec.api_vip is not None:
        # The servers share the VIP (roles/k3s_vip); agents and kubeconfigs use it.
        gv["cluster_api_vip"] = str(spec.api_vip)
        gv["cluster_api_endpoint"] = str(spec.api_vip)
        if spec.api_vip_mode != "keepalived":
            gv["cluster_api_vip_mode"] = spec.api_vip_mode
    if spec.lb_pool is not None:
        # MetalLB hands out the pool (roles/k3s_lb); servicelb needs neither variable.
        gv["cluster_lb"] = spec.lb
        gv["cluster_lb_pool"] = spec.lb_pool
    if lb_nodes:
        # Only these nodes answer for servicelb (roles/k3s_install labels them).
        gv["cluster_lb_nodes"] = list(lb_nodes)
    if spec.registries is not None:
        # roles/k3s_install writes it to /etc/rancher/k3s/registries.yaml on every node.
        gv["cluster_registries"] = inventory_value(spec.registries)
    if spec.ssh.identity:
        gv["ansible_ssh_private_key_file"] = spec.ssh.identity
    if spec.ssh.known_hosts:
        gv["ansible_ssh_common_args"] = (
            f"-o UserKnownHostsFile={_shell_word(spec.ssh.known_hosts)} "
            "-o StrictHostKeyChecking=yes"
        )
    return {
        "all": {
            "children": {
                "k3s_cluster": {
                    "children": {
                        "server": {"hosts": group("server")},
                        "agent": {"hosts": group("agent")},
                    },
                    "vars": gv,
                }
            }
        }
    }
