"""k3s_install_registries → /etc/rancher/k3s/registries.yaml, secrets read on the controller.

k3s's format (docs.k3s.io/installation/private-registry): ``mirrors: {<registry>:
{endpoint: [URL, ...], rewrite: {REGEX: REPLACEMENT}}}`` and ``configs: {<host[:port]>:
{tls: {ca_file, cert_file, key_file, insecure_skip_verify}, auth: {username, password}
or {auth: <token>}}}``. The variable keeps that shape, but a secret is only referenced:
``auth`` takes ``username`` with ``password_file`` or ``password_env``, or ``token_file``
or ``token_env``, read here, on the controller, when the file is rendered (a task under
no_log). TLS files are controller paths; the role copies them under
k3s_install_registries_dir/<registry>/ and the rendered file points there.

- ``k3s_registries_problems(regs)``: what is wrong, as sentences naming no secret value.
- ``k3s_registries_files(regs, dir)``: the TLS files to copy (src, dest, mode).
- ``k3s_registries_yaml(regs, dir)``: the data of registries.yaml, secrets included.
"""

from __future__ import annotations

import os
import re
from typing import Any

_REGISTRY = re.compile(
    r"^(\*|[A-Za-z0-9]([-A-Za-z0-9]*[A-Za-z0-9])?(\.[A-Za-z0-9]([-A-Za-z0-9]*[A-Za-z0-9])?)*"
    r"(:[0-9]{1,5})?)$"
)
_URL = re.compile(r"^https?://[^/\s?#]+(/[^\s?#]*)?$")
_ENV = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_TLS_FILES = {
    "ca_file": ("ca.crt", "0644"),
    "cert_file": ("client.crt", "0644"),
    "key_file": ("client.key", "0600"),
}
_AUTH_KEYS = ("username", "password_file", "password_env", "token_file", "token_env")
_CLEAR = ("password", "token", "auth", "identity_token")


def _readable(path: Any) -> bool:
    p = os.path.expanduser(str(path))
    return os.path.isfile(p) and os.access(p, os.R_OK)


def _auth_problems(where: str, auth: Any) -> list[str]:
    if not isinstance(auth, dict):
        return [f"{where}.auth must be a mapping"]
    out = []
    for key in auth:
        if key in _CLEAR:
            use = (
                f"{key}_file or {key}_env"
                if key in ("password", "token")
                else "token_file or token_env"
            )
            out.append(
                f"{where}.auth.{key}: a secret is never written in the inventory in clear; use {use}"
            )
        elif key not in _AUTH_KEYS:
            out.append(f"{where}.auth: unknown key {key!r} (allowed: {', '.join(_AUTH_KEYS)})")
    if out:
        return out
    secrets = [k for k in _AUTH_KEYS[1:] if auth.get(k)]
    if len(secrets) != 1:
        return [
            f"{where}.auth: set exactly one of password_file, password_env (with username), token_file or token_env"
        ]
    key = secrets[0]
    if key.startswith("password") and not auth.get("username"):
        out.append(f"{where}.auth.{key} needs a username")
    if key.startswith("token") and auth.get("username"):
        out.append(f"{where}.auth.{key} takes no username")
    value = str(auth[key])
    if key.endswith("_file") and not _readable(value):
        out.append(f"{where}.auth.{key}: {value} is not a readable file on the controller")
    if key.endswith("_env"):
        if not _ENV.match(value):
            out.append(f"{where}.auth.{key}: {value!r} is not an environment variable name")
        elif not os.environ.get(value):
            out.append(
                f"{where}.auth.{key}: the environment variable {value} is not set on the controller"
            )
    return out


def _tls_problems(where: str, tls: Any) -> list[str]:
    if not isinstance(tls, dict):
        return [f"{where}.tls must be a mapping"]
    out = []
    for key, value in tls.items():
        if key in _TLS_FILES:
            if not _readable(value):
                out.append(f"{where}.tls.{key}: {value} is not a readable file on the controller")
        elif key == "insecure_skip_verify":
            if not isinstance(value, bool):
                out.append(f"{where}.tls.insecure_skip_verify must be true or false")
        else:
            out.append(
                f"{where}.tls: unknown key {key!r} (allowed: ca_file, cert_file, key_file, insecure_skip_verify)"
            )
    if bool(tls.get("cert_file")) != bool(tls.get("key_file")):
        out.append(f"{where}.tls: cert_file and key_file go together")
    return out


def k3s_registries_problems(regs: Any) -> list[str]:
    """Every problem of a k3s_install_registries value; an empty list when it is fine."""
    if not regs:
        return []
    if not isinstance(regs, dict):
        return ["must be a mapping with mirrors and configs"]
    out = [
        f"unknown key {k!r} (allowed: mirrors, configs)"
        for k in regs
        if k not in ("mirrors", "configs")
    ]
    for section in ("mirrors", "configs"):
        entries = regs.get(section) or {}
        if not isinstance(entries, dict):
            out.append(f"{section} must be a mapping of registry names")
            continue
        for name, entry in entries.items():
            where = f"{section}[{name!r}]"
            if not _REGISTRY.match(str(name)):
                out.append(
                    f"{where}: not a registry name (host or host:port, e.g. registry.lan:5000)"
                )
            if not isinstance(entry, dict):
                out.append(f"{where} must be a mapping")
                continue
            allowed = ("endpoint", "rewrite") if section == "mirrors" else ("tls", "auth")
            out += [
                f"{where}: unknown key {k!r} (allowed: {', '.join(allowed)})"
                for k in entry
                if k not in allowed
            ]
            if section == "mirrors":
                urls = entry.get("endpoint")
                if not isinstance(urls, list) or not urls:
                    out.append(f"{where}.endpoint must be a list of URLs")
                    continue
                out += [
                    f"{where}.endpoint: {u!r} is not an http:// or https:// URL"
                    for u in urls
                    if not _URL.match(str(u))
                ]
                if not isinstance(entry.get("rewrite", {}), dict):
                    out.append(f"{where}.rewrite must map a regular expression to its replacement")
            else:
                if "tls" in entry:
                    out += _tls_problems(where, entry["tls"])
                if "auth" in entry:
                    out += _auth_problems(where, entry["auth"])
    return out


def _slug(name: str) -> str:
    return "_default" if name == "*" else re.sub(r"[^A-Za-z0-9.-]", "_", name)


def k3s_registries_files(regs: Any, directory: str) -> list[dict[str, str]]:
    """The TLS files to copy to the node: controller src, node dest, mode."""
    out = []
    for name, entry in ((regs or {}).get("configs") or {}).items():
        for key, (base, mode) in _TLS_FILES.items():
            src = ((entry or {}).get("tls") or {}).get(key)
            if src:
                dest = f"{directory}/{_slug(name)}/{base}"
                out.append({"src": os.path.expanduser(str(src)), "dest": dest, "mode": mode})
    return out


def _secret(auth: dict[str, Any], kind: str) -> str:
    if auth.get(f"{kind}_file"):
        with open(os.path.expanduser(str(auth[f"{kind}_file"])), encoding="utf-8") as f:
            return f.read().strip()
    return os.environ.get(str(auth[f"{kind}_env"]), "")


def k3s_registries_yaml(regs: Any, directory: str) -> dict[str, Any]:
    """registries.yaml as k3s reads it: TLS paths on the node, secrets read here."""
    out: dict[str, Any] = {}
    mirrors = {}
    for name, entry in ((regs or {}).get("mirrors") or {}).items():
        mirror: dict[str, Any] = {"endpoint": [str(u) for u in entry["endpoint"]]}
        if entry.get("rewrite"):
            mirror["rewrite"] = {str(k): str(v) for k, v in entry["rewrite"].items()}
        mirrors[str(name)] = mirror
    if mirrors:
        out["mirrors"] = mirrors
    configs = {}
    for name, entry in ((regs or {}).get("configs") or {}).items():
        config: dict[str, Any] = {}
        auth = (entry or {}).get("auth")
        if auth:
            if auth.get("password_file") or auth.get("password_env"):
                config["auth"] = {
                    "username": str(auth["username"]),
                    "password": _secret(auth, "password"),
                }
            else:
                config["auth"] = {"auth": _secret(auth, "token")}
        tls = (entry or {}).get("tls")
        if tls:
            config["tls"] = {
                key: f"{directory}/{_slug(str(name))}/{_TLS_FILES[key][0]}"
                for key in _TLS_FILES
                if tls.get(key)
            }
            if "insecure_skip_verify" in tls:
                config["tls"]["insecure_skip_verify"] = bool(tls["insecure_skip_verify"])
        configs[str(name)] = config
    if configs:
        out["configs"] = configs
    return out


class FilterModule:
    def filters(self) -> dict[str, object]:
        return {
            "k3s_registries_problems": k3s_registries_problems,
            "k3s_registries_files": k3s_registries_files,
            "k3s_registries_yaml": k3s_registries_yaml,
        }
