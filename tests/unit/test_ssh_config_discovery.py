"""discover's use of the OpenSSH config (issue 17 §5), without a network.

How `discover --ssh-config/--host` reads a Host block (asyncssh's own config reader), and
how the inventory reaches a host discover found through an alias. The testbed proof,
through a real ProxyJump host, is tests/integration/test_ssh_config.py.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from pi_k8s.discovery.ssh import SshSettings, check_ssh_config, resolve_target
from pi_k8s.errors import UsageError
from pi_k8s.inventory.build import host_entry
from pi_k8s.models import PiHost

CONFIG = """\
Host jump
  HostName 192.0.2.1
  User admin
Host pi-far
  HostName 198.51.100.7
  Port 2222
  User pi
  ProxyJump jump
Host 203.0.113.*
  Port 2200
"""


def settings(config: Path | None) -> SshSettings:
    return SshSettings(
        user=None,
        identity=None,
        known_hosts=Path("/nonexistent/known_hosts"),
        timeout=1.0,
        config=[str(config)] if config else None,
    )


def test_an_alias_resolves_to_its_hostname_and_port(tmp_path: Path) -> None:
    config = tmp_path / "ssh_config"
    config.write_text(CONFIG)
    target = resolve_target("pi-far", settings(config))
    assert (target.name, target.address, target.port) == ("pi-far", "198.51.100.7", 2222)


def test_an_address_takes_the_port_of_a_matching_pattern(tmp_path: Path) -> None:
    config = tmp_path / "ssh_config"
    config.write_text(CONFIG)
    target = resolve_target("203.0.113.9", settings(config))
    assert (target.address, target.port) == ("203.0.113.9", 2200)
    plain = resolve_target("192.0.2.50", settings(config))
    assert (plain.address, plain.port) == ("192.0.2.50", 22)


def test_without_ssh_config_home_s_config_is_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / ".ssh").mkdir()
    (tmp_path / ".ssh" / "config").write_text(CONFIG)
    monkeypatch.setenv("HOME", str(tmp_path))
    assert settings(None).config_paths() == [str(tmp_path / ".ssh" / "config")]
    assert resolve_target("pi-far", settings(None)).address == "198.51.100.7"


def test_a_bad_line_of_the_host_s_block_is_a_usage_error(tmp_path: Path) -> None:
    config = tmp_path / "ssh_config"
    config.write_text("Host pi-x\n  Port twenty-two\n")
    with pytest.raises(UsageError) as err:
        resolve_target("pi-x", settings(config))
    assert "Host pi-x: cannot read the SSH config for it:" in err.value.message
    assert "Invalid Port integer value: twenty-two" in err.value.message


def test_a_missing_config_is_refused(tmp_path: Path) -> None:
    with pytest.raises(UsageError) as err:
        check_ssh_config(tmp_path / "nope")
    assert err.value.exit_code == 2 and "does not exist" in err.value.message
    assert "--ssh-config" in err.value.hint


def test_the_inventory_reaches_an_aliased_host_by_its_alias_through_the_same_config() -> None:
    host = PiHost(ip="198.51.100.7", ssh_host="pi-far", ssh_config="/srv/lab/my ssh/config")
    assert host_entry(host, None) == {
        "ansible_host": "pi-far",
        "pi_k8s_ip": "198.51.100.7",
        "ansible_ssh_extra_args": "-F '/srv/lab/my ssh/config'",
    }


def test_a_swept_host_keeps_its_address() -> None:
    assert host_entry(PiHost(ip="192.0.2.20"), "pi") == {
        "ansible_host": "192.0.2.20",
        "ansible_user": "pi",
    }
