"""The tests' k3s inventory over testbed hosts, built from the hosts.json a testbed writes.

No podman: the access files are written by the testbed's own writer, with host keys
given (as for test VMs) instead of read from containers.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from pi_k8s import testbed as tb
from pi_k8s.testbed.access import write_access_files
from tests.testbed_inventory import cluster_inventory


def _bed(tmp_path: Path) -> tb.Testbed:
    hosts = [
        tb.TestbedHost(f"rpi-{i}", "pi", f"10.213.99.{10 + i}", "", None, None, "running", "")
        for i in (1, 2, 3)
    ]
    key = tmp_path / "id_ed25519"
    write_access_files(tmp_path, hosts, key, {h.name: "ssh-ed25519 AAAA" for h in hosts})
    return tb.Testbed(
        name="unit",
        network="pi-k8s-unit",
        subnet="10.213.99.0/24",
        image="",
        ssh_key=key,
        known_hosts=tmp_path / "known_hosts",
        inventory=tmp_path / "hosts.json",
        ssh_config=tmp_path / "ssh_config",
        hosts=hosts,
    )


def test_roles_addresses_and_access_vars(tmp_path: Path) -> None:
    bed = _bed(tmp_path)
    data = cluster_inventory(bed, ["rpi-1"], ["rpi-2", "rpi-3"], cluster_k3s_version="v1")
    cluster = data["all"]["children"]["k3s_cluster"]  # type: ignore[index]
    assert cluster["children"] == {
        "server": {"hosts": {"rpi-1": {"ansible_host": "10.213.99.11"}}},
        "agent": {
            "hosts": {
                "rpi-2": {"ansible_host": "10.213.99.12"},
                "rpi-3": {"ansible_host": "10.213.99.13"},
            }
        },
    }
    assert cluster["vars"]["cluster_name"] == "unit"
    assert cluster["vars"]["cluster_k3s_version"] == "v1"
    assert cluster["vars"]["ansible_ssh_private_key_file"] == str(tmp_path / "id_ed25519")
    assert cluster["vars"]["ansible_user"] == "pi"


def test_cluster_vars_override_the_name(tmp_path: Path) -> None:
    data = cluster_inventory(_bed(tmp_path), ["rpi-1"], cluster_name="lab")
    cluster = data["all"]["children"]["k3s_cluster"]  # type: ignore[index]
    assert cluster["vars"]["cluster_name"] == "lab"
    assert cluster["children"]["agent"] == {"hosts": {}}


def test_an_unknown_host_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="has no host rpi-9; its hosts: rpi-1, rpi-2, rpi-3"):
        cluster_inventory(_bed(tmp_path), ["rpi-1"], ["rpi-9"])
