"""How to reach a testbed's hosts: the SSH key, known_hosts, ssh_config, inventory."""

from __future__ import annotations

import json
import socket
import subprocess
import time
from pathlib import Path

from pi_k8s.errors import TestbedError
from pi_k8s.testbed.hosts import TestbedHost
from pi_k8s.testbed.podman import podman


def ensure_key(directory: Path) -> Path:
    key = directory / "id_ed25519"
    if not key.exists():
        subprocess.run(
            ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "pi-k8s-testbed", "-f", str(key)],
            check=True,
        )
    return key


def wait_ssh(ip: str, timeout: float) -> None:
    """Wait until an SSH server greets on ``ip``:22 (raises TestbedError after ``timeout``)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((ip, 22), timeout=1) as sock:
                if sock.recv(4).startswith(b"SSH-"):
                    return
        except OSError:
            time.sleep(0.3)
    raise TestbedError(f"SSH on {ip} did not answer within {timeout:.0f}s.")


def _host_key(container: str) -> str:
    return podman("exec", container, "cat", "/etc/ssh/ssh_host_ed25519_key.pub").strip()


def write_access_files(
    directory: Path,
    hosts: list[TestbedHost],
    key: Path,
    host_keys: dict[str, str] | None = None,
) -> None:
    """known_hosts (keys read from inside each host), an ssh_config and an inventory.

    ``host_keys`` (host name → public key line) is for hosts whose keys the caller
    already knows (test VMs get theirs injected); containers are asked over podman.
    """
    lines = []
    for host in hosts:
        pub = host_keys[host.name] if host_keys else _host_key(host.container)
        lines.append(f"{host.ip} {pub}")
        lines.append(f"{host.name} {pub}")
    known = directory / "known_hosts"
    known.write_text("\n".join(lines) + "\n")
    config = [
        f"Host {h.name}\n  HostName {h.ip}\n  User pi\n  IdentityFile {key}\n"
        f"  UserKnownHostsFile {known}\n  StrictHostKeyChecking yes\n  IdentitiesOnly yes\n"
        for h in hosts
    ]
    (directory / "ssh_config").write_text("\n".join(config))
    inventory = {
        "all": {
            "hosts": {h.name: {"ansible_host": h.ip, "testbed_kind": h.kind} for h in hosts},
            "vars": {
                "ansible_user": "pi",
                "ansible_become": True,
                "ansible_python_interpreter": "/usr/bin/python3",
                "ansible_ssh_private_key_file": str(key),
                "ansible_ssh_common_args": (
                    f"-o UserKnownHostsFile={known} -o StrictHostKeyChecking=yes "
                    "-o IdentitiesOnly=yes"
                ),
            },
        }
    }
    (directory / "hosts.json").write_text(json.dumps(inventory, indent=2) + "\n")
