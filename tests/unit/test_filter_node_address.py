"""plugins/filter/k3s_address.py: the one definition of how hosts reach the first server.

k3s_server, k3s_agent and k3s_kubeconfig each used to carry their own copy of this Jinja
block; they now call the filter. The first test runs it through real Ansible with the
repository's ansible.cfg, by FQCN as the roles call it (the checkout is the collection
pik8s.cluster through ansible.cfg's collections_path), so that path is proven too; the
others call it directly for the branches.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from ansible.errors import AnsibleFilterError

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "plugins" / "filter"))
from k3s_address import k3s_api_address, k3s_node_address  # noqa: E402

from tests.local_playbook import run_local_playbook  # noqa: E402

sys.path.pop(0)


def test_roles_resolve_the_address_through_ansible_cfg(tmp_path: Path) -> None:
    inventory = {
        "all": {
            "hosts": {
                "pi-ssh": {"ansible_host": "192.0.2.10"},
                "pi-podman": {
                    "ansible_connection": "containers.podman.podman",
                    "ansible_host": "w-rpi-1",
                },
            }
        }
    }
    play = [
        {
            "hosts": "localhost",
            "connection": "local",
            "gather_facts": False,
            "tasks": [
                {
                    "ansible.builtin.set_fact": {
                        "ansible_facts": {"default_ipv4": {"address": "10.9.9.9"}}
                    },
                    "delegate_to": "pi-podman",
                    "delegate_facts": True,
                },
                {
                    "ansible.builtin.debug": {
                        "msg": "{{ {'ssh': hostvars['pi-ssh'] | pik8s.cluster.k3s_node_address,"
                        " 'podman': hostvars['pi-podman'] | pik8s.cluster.k3s_node_address,"
                        " 'api': ['pi-podman', 'pi-ssh']"
                        " | pik8s.cluster.k3s_api_address(hostvars, '')}"
                        " | to_json }}"
                    }
                },
            ],
        }
    ]
    proc = run_local_playbook(
        play,
        tmp_path,
        inventory=inventory,
        env={
            "ANSIBLE_CONFIG": str(REPO / "ansible.cfg"),
            "ANSIBLE_STDOUT_CALLBACK": "json",
            "ANSIBLE_INVENTORY_UNPARSED_WARNING": "0",
        },
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    result = json.loads(proc.stdout)["plays"][0]["tasks"][1]["hosts"]["localhost"]["msg"]
    assert (json.loads(result) if isinstance(result, str) else result) == {
        "ssh": "192.0.2.10",
        "podman": "10.9.9.9",
        "api": "10.9.9.9",
    }


def test_ssh_host_without_ansible_host_uses_its_facts() -> None:
    hv = {"inventory_hostname": "pi-a", "ansible_facts": {"default_ipv4": {"address": "10.0.0.5"}}}
    assert k3s_node_address(hv) == "10.0.0.5"


def test_paramiko_counts_as_ssh() -> None:
    assert (
        k3s_node_address({"ansible_connection": "paramiko", "ansible_host": "pi-a.lan"})
        == "pi-a.lan"
    )


def test_no_address_at_all_names_the_host() -> None:
    with pytest.raises(AnsibleFilterError, match="pi-b has no address"):
        k3s_node_address({"inventory_hostname": "pi-b", "ansible_connection": "local"})


def test_a_host_reached_by_an_ssh_config_alias_is_reached_by_others_at_pi_k8s_ip() -> None:
    hv = {"ansible_host": "pi-behind-jump", "pi_k8s_ip": "192.0.2.12"}
    assert k3s_node_address(hv) == "192.0.2.12"


SERVERS = {
    "pi-1": {"inventory_hostname": "pi-1", "ansible_host": "192.0.2.1"},
    "pi-2": {"inventory_hostname": "pi-2", "ansible_host": "192.0.2.2"},
}


def test_api_address_is_the_first_non_empty_choice() -> None:
    assert k3s_api_address(["pi-1", "pi-2"], SERVERS, "", "192.0.2.50") == "192.0.2.50"
    assert k3s_api_address(["pi-1"], SERVERS, "api.lan", "192.0.2.50") == "api.lan"


def test_api_address_without_choices_is_the_first_servers() -> None:
    assert k3s_api_address(["pi-2", "pi-1"], SERVERS, "", "") == "192.0.2.2"
    assert k3s_api_address(["pi-1", "pi-2"], SERVERS) == "192.0.2.1"


def test_api_address_without_servers_says_so() -> None:
    with pytest.raises(AnsibleFilterError, match="no server"):
        k3s_api_address([], SERVERS, "")


def test_one_definition_of_the_api_address() -> None:
    """The three roles derive the API address only through the filter."""
    for role in ("k3s_server", "k3s_agent", "k3s_kubeconfig"):
        text = (REPO / "roles" / role / "vars" / "main.yml").read_text()
        assert "| pik8s.cluster.k3s_api_address(hostvars" in text, role
        assert "k3s_node_address" not in text, role
