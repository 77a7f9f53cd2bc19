"""Step 3: the SSH probe (asyncssh), host keys trusted on first use, the --identity check."""

from __future__ import annotations

import asyncio
import errno
import getpass
import ipaddress
import os
import socket
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncssh

from pi_k8s import paths, probe
from pi_k8s.errors import UsageError

SSH_PORT = 22


@dataclass
class SshSettings:
    user: str | None
    identity: Path | None
    known_hosts: Path
    timeout: float
    config: Sequence[str] | None = None  # None: asyncssh reads ~/.ssh/config

    def config_paths(self) -> list[str]:
        """The OpenSSH config files the probe reads: ``config``, else ~/.ssh/config if any."""
        if self.config is not None:
            return list(self.config)
        default = Path("~", ".ssh", "config").expanduser()
        return [str(default)] if os.access(default, os.R_OK) else []


@dataclass(frozen=True)
class SshTarget:
    """Where a name given to `discover --host` leads, after the OpenSSH config."""

    name: str  # what the user gave: a Host alias or an address
    address: str  # the IPv4 address its HostName is (or resolves to here)
    port: int


def check_ssh_config(path: Path) -> None:
    """Refuse, before any scan, an --ssh-config that is missing or that asyncssh cannot parse."""
    hint = "Pass an OpenSSH client config file, e.g. --ssh-config ~/.ssh/config."
    if path.is_dir():
        raise UsageError(f"SSH config file {path} is a directory.", hint=hint)
    if not path.is_file():
        raise UsageError(f"SSH config file {path} does not exist.", hint=hint)
    try:
        _client_config([str(path)], None, "check")
    except (OSError, UnicodeDecodeError, asyncssh.ConfigParseError) as exc:
        raise UsageError(f"Cannot read SSH config file {path}: {exc}", hint=hint) from None


def _client_config(paths_: Sequence[str], user: str | None, host: str) -> Any:
    """asyncssh's reading of the OpenSSH config for ``host``, as asyncssh.connect does it."""
    from asyncssh.config import SSHClientConfig

    return SSHClientConfig.load(
        None, list(paths_), False, False, False, getpass.getuser(), user or (), host, ()
    )


def resolve_target(name: str, settings: SshSettings) -> SshTarget:
    """Apply the OpenSSH config (HostName, Port) to ``name``; its address must be known here.

    The address is the host's own (what the inventory and k3s use), even when SSH reaches
    it through a ProxyJump host: an IPv4 HostName, or a name this machine resolves.
    """
    try:
        config = _client_config(settings.config_paths(), settings.user, name)
    except (OSError, UnicodeDecodeError, asyncssh.ConfigParseError) as exc:
        raise UsageError(
            f"Host {name}: cannot read the SSH config for it: {exc}",
            hint="Fix that line of the SSH config (see ssh_config(5)).",
        ) from None
    hostname = str(config.get("Hostname", name))
    port = int(config.get("Port", SSH_PORT))
    try:
        address = str(ipaddress.IPv4Address(hostname))
    except ValueError:
        try:
            infos = socket.getaddrinfo(hostname, port, socket.AF_INET, socket.SOCK_STREAM)
        except (OSError, UnicodeError):
            raise UsageError(
                f"Host {name}: its address {hostname} does not resolve on this machine.",
                hint="Give it an IPv4 HostName in your SSH config, or pass the address.",
            ) from None
        address = str(infos[0][4][0])
    return SshTarget(name, address, port)


class KnownHosts:
    """The tool's known_hosts: strict for hosts already in it, trust-on-first-use otherwise."""

    def __init__(self, path: Path) -> None:
        self.path = path
        text = path.read_text() if path.exists() else ""
        self._known = asyncssh.import_known_hosts(text) if text.strip() else None
        self.new_lines: list[str] = []

    def for_host(self, ip: str, port: int = SSH_PORT) -> asyncssh.SSHKnownHosts | None:
        """The keys to verify ``ip`` against, or None (first contact: accept and record)."""
        if self._known is None:
            return None
        keys = self._known.match(ip, ip, port)
        return self._known if any(keys[:2]) or any(keys[3:5]) else None

    def record(self, ip: str, key: asyncssh.SSHKey, port: int = SSH_PORT) -> None:
        line = key.export_public_key("openssh").decode().split()
        name = ip if port == SSH_PORT else f"[{ip}]:{port}"
        self.new_lines.append(f"{name} {line[0]} {line[1]}")

    def save(self) -> None:
        if not self.new_lines:
            return
        # Only a directory pi-k8s creates (or its own state dir) is made private: the
        # user's --known-hosts may sit in a shared directory such as /tmp.
        paths.ensure_private_dir(self.path.parent)
        existing = self.path.read_text() if self.path.exists() else ""
        prefix = "" if not existing or existing.endswith("\n") else "\n"
        # A new file is created 0600; an existing one keeps the mode its owner gave it.
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        with os.fdopen(fd, "a") as fh:
            fh.write(prefix + "\n".join(self.new_lines) + "\n")
        self.new_lines.clear()


_PREFERRED_HOST_KEY_ALGS = (
    "ssh-ed25519",
    "ecdsa-sha2-nistp256",
    "ecdsa-sha2-nistp384",
    "ecdsa-sha2-nistp521",
    "rsa-sha2-512",
    "rsa-sha2-256",
    "ssh-rsa",
)


def _ssh_reason(exc: BaseException) -> str:
    """The short reason reported for a host SSH could not probe."""
    if isinstance(exc, asyncssh.HostKeyNotVerifiable):
        return "host key changed"
    if isinstance(exc, asyncssh.PermissionDenied):
        return "auth failed"
    if isinstance(exc, ConnectionRefusedError):
        return "refused"
    if isinstance(exc, TimeoutError | asyncio.TimeoutError):
        return "timeout"
    if isinstance(exc, OSError) and exc.errno in {errno.EHOSTUNREACH, errno.ETIMEDOUT}:
        return "timeout"
    if isinstance(exc, asyncssh.Error):
        return f"ssh error: {exc.reason}"
    return f"ssh error: {exc}"


async def ssh_probe(
    ip: str, settings: SshSettings, known: KnownHosts, target: SshTarget | None = None
) -> dict[str, Any]:
    """Run ``probe.PROBE_SCRIPT`` on ip; the identified fields, or {"ssh_error": reason}.

    SSH connects to ``target.name`` when given (a Host alias), else to ``ip``; the OpenSSH
    config (``settings.config_paths()``) applies either way: HostName, Port, User,
    IdentityFile, ProxyJump. ``--user`` and ``--identity`` win over it.
    """
    port = target.port if target else SSH_PORT
    options: dict[str, Any] = {
        # A swept address answered on port 22; a named host's port is the config's.
        **({} if target else {"port": SSH_PORT}),
        "known_hosts": known.for_host(ip, port),
        "connect_timeout": settings.timeout,
        "login_timeout": settings.timeout,
        "ignore_encrypted": True,
    }
    if settings.user:
        options["username"] = settings.user
    if settings.identity:
        options["client_keys"] = [str(settings.identity)]
        options["agent_path"] = None
    options["config"] = settings.config_paths()
    first_contact = options["known_hosts"] is None
    if first_contact:  # record the strongest key the host offers
        options["server_host_key_algs"] = list(_PREFERRED_HOST_KEY_ALGS)
    try:
        async with asyncio.timeout(settings.timeout * 3):
            async with asyncssh.connect(target.name if target else ip, **options) as conn:
                if first_contact:
                    key = conn.get_server_host_key()
                    if key is not None:
                        known.record(ip, key, port)
                result = await conn.run(probe.PROBE_SCRIPT, encoding=None, check=False)
                user = conn.get_extra_info("username")
    except (OSError, asyncssh.Error, TimeoutError) as exc:
        return {"ssh_error": _ssh_reason(exc)}
    except asyncssh.ConfigParseError as exc:  # a line of the host's Host block
        return {"ssh_error": f"ssh config: {exc}"}
    stdout = result.stdout if isinstance(result.stdout, bytes) else b""
    fields = probe.identify(probe.split_sections(stdout))
    fields["ssh_user"] = user
    return fields


def check_identity(path: Path) -> None:
    """Refuse, before any scan, an identity that is not an SSH private key SSH can use.

    asyncssh reads it the way each probe would; a public key, a certificate or any other
    file is a UsageError (exit 2) here instead of an error per host after the sweep.
    """
    hint = "Pass the private key SSH should use, e.g. --identity ~/.ssh/id_ed25519."
    if not path.is_file():
        raise UsageError(f"Identity file {path} does not exist.", hint=hint)
    try:
        asyncssh.read_private_key(str(path))
    except asyncssh.KeyImportError as exc:
        if "passphrase" in str(exc).lower():
            raise UsageError(
                f"Identity file {path} is encrypted; pi-k8s cannot ask for its passphrase.",
                hint=f"Load it into your SSH agent (ssh-add {path}) and leave out --identity.",
            ) from None
        raise UsageError(
            f"Identity file {path} is not an SSH private key ({exc}).",
            hint=hint + " (not the .pub file)",
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"Cannot read identity file {path}: {exc}.", hint=hint) from None
