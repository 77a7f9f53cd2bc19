"""What a user checks after site.yml: services, ports, files, nodes Ready, kubeconfig.

The cluster runs the k3s stand-in (tests/standin), installed through the airgap path
exactly as the real binary would be; see tests/standin/README.md for what it keeps of k3s.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
from pathlib import Path
from typing import Any

import pytest
import testinfra
import yaml

from pi_k8s import pi_identity

EPHEMERAL = Path(os.environ.get("MOLECULE_EPHEMERAL_DIRECTORY", "/nonexistent"))
# Written by prepare.yml (airgap install) and side_effect.yml (upgrade from a mirror).
EXPECTED = json.loads((EPHEMERAL / "expected.json").read_text())
VERSION = EXPECTED["version"]
RELEASE = Path(EXPECTED["release_dir"])


@pytest.fixture(scope="module")
def servers(inventory: Any) -> list[str]:
    return sorted(inventory.get_hosts("server"))


@pytest.fixture(scope="module")
def agents(inventory: Any) -> list[str]:
    return sorted(inventory.get_hosts("agent"))


@pytest.fixture(scope="module")
def first(servers: list[str]) -> Any:
    return testinfra.get_host(f"podman://{servers[0]}")


def first_ip(first: Any) -> str:
    return first.interface("eth0").addresses[0]


def role_of(host: Any, servers: list[str]) -> str:
    return "server" if host.backend.get_hostname() in servers else "agent"


def unit_of(host: Any, servers: list[str]) -> str:
    return "k3s" if role_of(host, servers) == "server" else "k3s-agent"


def test_binary_is_the_verified_release(host: Any) -> None:
    k3s = host.file("/usr/local/bin/k3s")
    assert k3s.mode == 0o755 and k3s.user == "root"
    sums = (RELEASE / "sha256sum-amd64.txt").read_text()
    expected = next(line.split()[0] for line in sums.splitlines() if line.endswith("  k3s"))
    assert k3s.sha256sum == expected
    assert f"k3s version {VERSION}" in host.check_output("/usr/local/bin/k3s --version")
    assert not host.file("/var/lib/pi-k8s/download/k3s.new").exists


def test_service_enabled_and_running(host: Any, servers: list[str]) -> None:
    service = host.service(unit_of(host, servers))
    assert service.is_enabled
    assert service.is_running


def test_unit_is_what_install_sh_writes(host: Any, servers: list[str]) -> None:
    unit = unit_of(host, servers)
    text = host.file(f"/etc/systemd/system/{unit}.service").content_string
    for line in (
        "Type=notify",
        f"EnvironmentFile=-/etc/systemd/system/{unit}.service.env",
        "KillMode=process",
        "Delegate=yes",
        "LimitNOFILE=1048576",
        f"ExecStart=/usr/local/bin/k3s {role_of(host, servers)}",
    ):
        assert line in text.splitlines(), line
    # A container must not load modules into the machine's kernel.
    assert "modprobe" not in "\n".join(ln for ln in text.splitlines() if not ln.startswith("#"))


def test_ports_listening(host: Any, servers: list[str]) -> None:
    assert (
        host.socket("tcp://0.0.0.0:10250").is_listening or host.socket("tcp://10250").is_listening
    )
    if role_of(host, servers) == "server":
        assert (
            host.socket("tcp://0.0.0.0:6443").is_listening or host.socket("tcp://6443").is_listening
        )


def test_config_and_env_files_are_private(host: Any, servers: list[str]) -> None:
    unit = unit_of(host, servers)
    for path in ("/etc/rancher/k3s/config.yaml", f"/etc/systemd/system/{unit}.service.env"):
        f = host.file(path)
        assert f.exists, path
        assert (f.user, f.group, f.mode) == ("root", "root", 0o600), path


def test_token_only_in_the_env_file(host: Any, servers: list[str]) -> None:
    token_file = EPHEMERAL / "state" / "token"
    assert stat.S_IMODE(token_file.stat().st_mode) == 0o600
    token = token_file.read_text().strip()
    assert len(token) == 64
    env = host.file(f"/etc/systemd/system/{unit_of(host, servers)}.service.env").content_string
    assert f"K3S_TOKEN={token}" in env.splitlines()
    assert token not in host.file("/etc/rancher/k3s/config.yaml").content_string


def test_join_settings(host: Any, servers: list[str], first: Any) -> None:
    config = yaml.safe_load(host.file("/etc/rancher/k3s/config.yaml").content_string)
    name = host.backend.get_hostname()
    url = f"https://{first_ip(first)}:6443"
    if name == servers[0]:
        assert config["cluster-init"] is True
        assert "server" not in config
    else:
        assert config["server"] == url
        assert "cluster-init" not in config
    if role_of(host, servers) == "server":
        assert config["write-kubeconfig-mode"] == "0600"
        assert first_ip(first) in config["tls-san"]


def test_helper_scripts(host: Any, servers: list[str]) -> None:
    server = role_of(host, servers) == "server"
    uninstall = "k3s-uninstall.sh" if server else "k3s-agent-uninstall.sh"
    for script in ("k3s-killall.sh", uninstall):
        f = host.file(f"/usr/local/bin/{script}")
        assert f.mode == 0o755, script
    assert host.file("/usr/local/bin/kubectl").linked_to == "/usr/local/bin/k3s"


def test_airgap_images_in_place(host: Any) -> None:
    images = host.file("/var/lib/rancher/k3s/agent/images/k3s-airgap-images-amd64.tar.gz")
    assert images.exists
    archive = EPHEMERAL / "airgap" / "k3s-airgap-images-amd64.tar.gz"
    assert images.sha256sum == hashlib.sha256(archive.read_bytes()).hexdigest()


def test_cmdline_and_reboot_once(host: Any) -> None:
    words = host.file("/boot/firmware/cmdline.txt").content_string.split()
    assert words.count("cgroup_enable=memory") == 1 and words.count("cgroup_memory=1") == 1
    assert host.file("/boot/cmdline.txt").content_string == pi_identity.boot_placeholder(
        "cmdline.txt"
    )
    assert host.file("/var/lib/pi-k8s/reboot-count").content_string.strip() == "1"


def test_every_node_ready(first: Any, servers: list[str], agents: list[str]) -> None:
    nodes = json.loads(first.check_output("k3s kubectl get nodes -o json"))["items"]
    by_name = {n["metadata"]["name"]: n for n in nodes}
    assert sorted(by_name) == sorted(servers + agents)
    for name, node in by_name.items():
        ready = [c for c in node["status"]["conditions"] if c["type"] == "Ready"]
        assert ready and ready[0]["status"] == "True", name
        assert node["status"]["nodeInfo"]["kubeletVersion"] == VERSION
        labels = node["metadata"]["labels"]
        if name in servers:
            assert labels.get("node-role.kubernetes.io/control-plane") == "true", name
            assert labels.get("node-role.kubernetes.io/etcd") == "true", name
        else:
            assert "node-role.kubernetes.io/control-plane" not in labels, name


def test_kubeconfig_on_controller(first: Any) -> None:
    path = EPHEMERAL / "kube" / "molecule.yaml"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    config = yaml.safe_load(path.read_text())
    assert config["current-context"] == "molecule"
    assert [c["name"] for c in config["clusters"]] == ["molecule"]
    assert config["clusters"][0]["cluster"]["server"] == f"https://{first_ip(first)}:6443"
    assert config["contexts"][0]["context"] == {"cluster": "molecule", "user": "molecule"}
    assert config["users"][0]["user"]["client-key-data"]
