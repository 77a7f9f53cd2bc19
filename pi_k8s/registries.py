"""`registries:` in cluster.yaml: k3s's registries.yaml (mirrors and configs), secrets by reference.

k3s reads ``/etc/rancher/k3s/registries.yaml`` on every node when it starts
(docs.k3s.io/installation/private-registry): ``mirrors`` maps a registry name to its
``endpoint`` URLs and optional ``rewrite`` rules; ``configs`` maps a registry host to its
``tls`` (``ca_file``, ``cert_file``, ``key_file``, ``insecure_skip_verify``) and ``auth``
(``username`` + ``password``, or ``auth``, a token). The spec keeps that shape with one
difference: a secret is never written in it. ``auth`` names where the secret is read on
the controller when the role writes the file:

    auth: {username: pull, password_file: ~/.config/pi-k8s/registry.pass}
    auth: {username: pull, password_env: REGISTRY_PASSWORD}
    auth: {token_file: ...} or {token_env: NAME}

Files (the CA, client certificate and key, secret files) must be readable files on the
controller and environment variables set when the spec is loaded; the inventory keeps
the same references as ``cluster_registries`` (absolute paths), and roles/k3s_install
checks them again before any host is touched.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictStr,
    field_validator,
    model_validator,
)

# A registry name as k3s keys mirrors and configs: host[:port], or "*" (every registry).
_REGISTRY = re.compile(
    r"^(\*|[A-Za-z0-9]([-A-Za-z0-9]*[A-Za-z0-9])?(\.[A-Za-z0-9]([-A-Za-z0-9]*[A-Za-z0-9])?)*"
    r"(:[0-9]{1,5})?)$"
)
# An endpoint: an http or https URL with a host (containerd adds /v2 itself).
_URL = re.compile(r"^https?://[^/\s?#]+(/[^\s?#]*)?$")
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
CLEAR_SECRETS = ("password", "token", "auth", "identity_token")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _readable_file(v: str | None) -> str | None:
    """An existing readable file on the controller, as an absolute path (~ expanded)."""
    if v is None:
        return v
    path = Path(v).expanduser()
    if not path.is_file():
        raise ValueError(f"{v!r} is not a file on this machine")
    if not os.access(path, os.R_OK):
        raise ValueError(f"{v!r} is not readable")
    return str(path.resolve())


def _set_env(v: str | None) -> str | None:
    if v is None:
        return v
    if not _ENV_NAME.match(v):
        raise ValueError(f"{v!r} is not an environment variable name")
    if not os.environ.get(v):
        raise ValueError(f"the environment variable {v} is not set (or empty)")
    return v


class Mirror(_Model):
    """A registry's mirrors: endpoints tried in order, optional rewrite rules."""

    endpoint: list[StrictStr] = Field(min_length=1)
    rewrite: dict[StrictStr, StrictStr] = Field(default_factory=dict)

    @field_validator("endpoint")
    @classmethod
    def _urls(cls, v: list[str]) -> list[str]:
        for url in v:
            if not _URL.match(url):
                raise ValueError(f"{url!r} is not an http:// or https:// URL")
        return v


class Tls(_Model):
    ca_file: StrictStr | None = None
    cert_file: StrictStr | None = None
    key_file: StrictStr | None = None
    insecure_skip_verify: StrictBool | None = None

    @field_validator("ca_file", "cert_file", "key_file")
    @classmethod
    def _files(cls, v: str | None) -> str | None:
        return _readable_file(v)

    @model_validator(mode="after")
    def _pair(self) -> Tls:
        if bool(self.cert_file) != bool(self.key_file):
            raise ValueError(
                "cert_file and key_file go together (a client certificate and its key)"
            )
        return self


class Auth(_Model):
    """Who pulls: a username with a password, or a token; each secret from a file or a variable."""

    model_config = ConfigDict(extra="allow", frozen=True)

    username: StrictStr | None = None
    password_file: StrictStr | None = None
    password_env: StrictStr | None = None
    token_file: StrictStr | None = None
    token_env: StrictStr | None = None

    @field_validator("password_file", "token_file")
    @classmethod
    def _files(cls, v: str | None) -> str | None:
        return _readable_file(v)

    @field_validator("password_env", "token_env")
    @classmethod
    def _envs(cls, v: str | None) -> str | None:
        return _set_env(v)

    @model_validator(mode="after")
    def _one_secret(self) -> Auth:
        extra = sorted(self.model_extra or {})
        clear = [k for k in extra if k in CLEAR_SECRETS]
        if clear:
            raise ValueError(
                f"{clear[0]}: a secret is never written in the spec; use {clear[0]}_file "
                f"(a file only you read) or {clear[0]}_env (an environment variable)"
                if clear[0] in ("password", "token")
                else f"{clear[0]}: a secret is never written in the spec; "
                "use token_file or token_env"
            )
        if extra:
            raise ValueError(
                f"unknown key {extra[0]!r} (allowed: username, password_file, password_env, "
                "token_file, token_env)"
            )
        password = [k for k in ("password_file", "password_env") if getattr(self, k)]
        token = [k for k in ("token_file", "token_env") if getattr(self, k)]
        if len(password) + len(token) != 1:
            raise ValueError(
                "set exactly one of password_file, password_env (with username), "
                "token_file or token_env"
            )
        if password and not self.username:
            raise ValueError(f"{password[0]} needs a username")
        if token and self.username:
            raise ValueError(f"{token[0]} takes no username")
        return self


class RegistryConfig(_Model):
    tls: Tls | None = None
    auth: Auth | None = None


def _check_names(v: dict[str, Any]) -> dict[str, Any]:
    for name in v:
        if not _REGISTRY.match(name):
            raise ValueError(
                f"{name!r} is not a registry name (host or host:port, e.g. registry.lan:5000)"
            )
    return v


class RegistriesSpec(_Model):
    """The spec's `registries:`: what roles/k3s_install writes to registries.yaml."""

    mirrors: dict[StrictStr, Mirror] = Field(default_factory=dict)
    configs: dict[StrictStr, RegistryConfig] = Field(default_factory=dict)

    @field_validator("mirrors", "configs", mode="before")
    @classmethod
    def _names(cls, v: Any) -> Any:
        return _check_names(v) if isinstance(v, dict) else v


def inventory_value(spec: RegistriesSpec) -> dict[str, Any]:
    """``cluster_registries`` for the inventory: the spec's data, paths absolute, no secret."""
    return spec.model_dump(exclude_none=True, exclude_defaults=True)
