"""Each host's one SSH round trip, with the inventory's own SSH settings.

testinfra turns an inventory host's variables into an OpenSSH command line the way
Ansible would (ansible_host, ansible_port, ansible_user, the private key, the common and
extra ssh args, ansible.cfg's ssh_args) and runs the probe through it; the variables
come from pi_k8s.ansible_vars, so no `ansible-inventory` process is started.
Status adds ``BatchMode=yes`` (never a password prompt) and a connect timeout. Only
servers use the inventory's become, for `k3s kubectl` (root reads k3s.yaml).
"""

from __future__ import annotations

import configparser
import os
import shlex
from collections.abc import Mapping
from typing import Any

from pi_k8s import paths
from pi_k8s.status import probe
from pi_k8s.status.model import HostFacts
from pi_k8s.verify.hosts import error_text

CONNECT_TIMEOUT_S = 5


class HostUnreadable(Exception):
    """The host could not be read; the message says why, in one line."""


def ansible_config() -> configparser.ConfigParser:
    """The ansible.cfg playbooks run with ($ANSIBLE_CONFIG, else the shipped one)."""
    config = configparser.ConfigParser()
    config.read(os.environ.get("ANSIBLE_CONFIG") or paths.content_dir() / "ansible.cfg")
    return config


def ssh_vars(hostvars: Mapping[str, Any], *, become: bool) -> dict[str, Any]:
    """The host's variables with status's additions to the ssh command line."""
    hv = dict(hostvars)
    extra = str(hv.get("ansible_ssh_extra_args") or "")
    hv["ansible_ssh_extra_args"] = (
        f"{extra} -o BatchMode=yes -o ConnectTimeout={CONNECT_TIMEOUT_S}".strip()
    )
    if not become:
        hv["ansible_become"] = False
    return hv


def run_on_host(
    name: str,
    hostvars: Mapping[str, Any],
    command: str,
    *,
    become: bool,
    config: configparser.ConfigParser,
) -> Any:
    """Run a read-only shell command on ``name`` over SSH (testinfra's CommandResult);
    HostUnreadable when SSH, become or the shell fails (``command`` itself exits 0)."""
    from testinfra.utils.ansible_runner import get_ansible_host

    hv = ssh_vars(hostvars, become=become)
    inventory = {"_meta": {"hostvars": {name: hv}}, "all": {"hosts": [name]}}
    host = get_ansible_host(config, inventory, name)
    if host is None:
        connection = hv.get("ansible_connection", "ssh")
        raise HostUnreadable(f"connection {connection!r}: pi-k8s reads hosts over SSH only")
    try:
        result = host.run("/bin/sh -c " + shlex.quote(command))
    except Exception as exc:  # testinfra raises RuntimeError(CommandResult) on ssh's 255
        raise HostUnreadable(error_text(exc)) from None
    if result.rc != 0:
        text = result.stderr.strip() or f"exit code {result.rc}"
        raise HostUnreadable(text.splitlines()[-1][:200])
    return result


def read_host(
    name: str, hostvars: Mapping[str, Any], *, server: bool, config: configparser.ConfigParser
) -> HostFacts:
    """Run the probe on ``name`` (as root on a server); HostUnreadable when SSH (or become)
    fails."""
    result = run_on_host(name, hostvars, probe.script(server), become=server, config=config)
    return probe.parse(result.stdout_bytes)
