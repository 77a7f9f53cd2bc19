"""The cluster spec (`cluster.yaml`): load, validate, and report every bad field by path.

The spec says what the user wants; discovery says what is on the LAN; pi_k8s.inventory
joins the two. Checks that need only the spec live here (types, formats, the server
count); checks that need the discovered hosts (subnet, duplicates, armv6) live in
pi_k8s.inventory. Every failure becomes a SpecError naming the file and the field path:

    cluster.yaml: servers: must be 1 or an odd number ≥ 3 for embedded-etcd HA, got 2

Every field is documented in inventory/cluster.example.yaml.
"""

from __future__ import annotations

import ipaddress
import re
import types
import typing
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    StrictStr,
    ValidationError,
    field_validator,
    model_validator,
)

from pi_k8s.errors import SpecError
from pi_k8s.lb import spec_problem as lb_spec_problem
from pi_k8s.registries import RegistriesSpec
from pi_k8s.release import K3S_CHANNEL, K3S_VERSION

# A DNS label (RFC 1123): what k3s, Kubernetes and hostnames accept as one name part.
_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
# A hostname as a selector: one or more labels, case-insensitive (hosts report mixed case).
_HOSTNAME = re.compile(
    r"^(?=.{1,253}$)[A-Za-z0-9]([-A-Za-z0-9]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([-A-Za-z0-9]{0,61}[A-Za-z0-9])?)*$"
)
_MAC = re.compile(r"^[0-9a-f]{2}(:[0-9a-f]{2}){5}$")
# Kubernetes label parts (apimachinery validation: qualified name and label value).
_LABEL_NAME = re.compile(r"^[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$")
_LABEL_PREFIX = re.compile(
    r"^(?=.{1,253}$)[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"
)
_LABEL_VALUE = re.compile(r"^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$")
TAINT_EFFECTS = ("NoSchedule", "PreferNoSchedule", "NoExecute")
# kubelet --node-labels refuses kubernetes.io / k8s.io labels except under these prefixes
# (kubelet's NodeRestriction-compatible set); node-role.kubernetes.io/* must be set with kubectl.
_KUBELET_ALLOWED_PREFIXES = ("node.kubernetes.io", "kubelet.kubernetes.io")

# What to tell the user per top-level field when it is wrong.
_HINTS: dict[str, str] = {
    "name": "Use lowercase letters, digits and '-', starting and ending with a letter or digit "
    "(at most 63 characters), e.g. name: homelab.",
    "k3s": "Set exactly one of k3s.version (a release tag such as v1.31.4+k3s1) or "
    "k3s.channel (stable, latest, testing or v1.NN).",
    "servers": "Use 1 server, or 3, 5 or 7 for HA: embedded etcd needs a majority of servers "
    "up, so an even count adds a failure point without adding tolerance.",
    "api_vip": "Give a free IPv4 address of the servers' LAN, e.g. api_vip: 192.168.1.250 "
    "(keepalived moves it between the servers).",
    "api_vip_mode": "Use api_vip_mode: keepalived (the default) or kube-vip, with api_vip set.",
    "lb": "Use lb: servicelb (k3s's built-in, no pool) or lb: metallb (with lb_pool).",
    "lb_pool": "With lb: metallb, give free addresses of the nodes' LAN as a CIDR or "
    "FIRST-LAST, e.g. lb_pool: 192.168.1.240-192.168.1.249, outside api_vip.",
    "lb_nodes": "lb_nodes lists the hosts (hostname, MAC or IP) servicelb answers on; "
    "with lb: metallb leave it out.",
    "subnet": "Give the nodes' LAN as a CIDR, e.g. subnet: 192.168.1.0/24.",
    "ssh": "ssh takes user, identity and known_hosts.",
    "hosts": "hosts.include and hosts.exclude are lists of hostnames, MACs "
    "(dc:a6:32:01:02:03) or IPv4 addresses.",
    "registries": "registries takes mirrors (endpoint URLs, rewrite) and configs (tls: ca_file, "
    "cert_file, key_file, insecure_skip_verify; auth: username with password_file or "
    "password_env, or token_file or token_env); see inventory/cluster.example.yaml.",
    "overrides": "overrides maps a hostname, MAC or IP to {role: server|agent, labels: {..}, "
    "taints: [key=value:NoSchedule]}.",
}
_DEFAULT_HINT = "Every key is documented in inventory/cluster.example.yaml."


def _normalise_selector(value: str) -> str:
    """Check that a host selector is a hostname, a MAC or an IPv4 address; lowercase it."""
    v = value.strip()
    if not v:
        raise ValueError("empty host selector")
    # Anything with ':' or '-' between hex pairs is meant as a MAC.
    if ":" in v or re.fullmatch(r"[0-9A-Fa-f]{2}(-[0-9A-Fa-f]{2}){5}", v):
        mac = v.lower().replace("-", ":")
        if not _MAC.match(mac):
            raise ValueError(f"{value!r} is not a valid MAC address (expected dc:a6:32:01:02:03)")
        return mac
    if re.fullmatch(r"[0-9.]+", v):
        try:
            return str(ipaddress.IPv4Address(v))
        except ValueError:
            raise ValueError(f"{value!r} is not a valid IPv4 address") from None
    if not _HOSTNAME.match(v):
        raise ValueError(f"{value!r} is not a hostname, MAC or IPv4 address")
    return v.lower()


# A host in the spec: a hostname, a MAC or an IPv4 address, normalised to lowercase.
Selector = Annotated[StrictStr, AfterValidator(_normalise_selector)]


def _matching(pattern: re.Pattern[str], v: str | None, expected: str) -> str | None:
    """``v`` when it is None or matches ``pattern``; else a ValueError: must be ``expected``."""
    if v is not None and not pattern.match(v):
        raise ValueError(f"must be {expected}, got {v!r}")
    return v


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class K3sSpec(_Model):
    """Which k3s to install: a pinned release tag or a release channel, never both."""

    version: StrictStr | None = None
    channel: StrictStr | None = None

    @field_validator("version")
    @classmethod
    def _version(cls, v: str | None) -> str | None:
        return _matching(K3S_VERSION, v, "a k3s release tag like v1.31.4+k3s1")

    @field_validator("channel")
    @classmethod
    def _channel(cls, v: str | None) -> str | None:
        return _matching(K3S_CHANNEL, v, "stable, latest, testing or v1.NN (e.g. v1.31)")

    @model_validator(mode="after")
    def _one_of(self) -> K3sSpec:
        if self.version and self.channel:
            raise ValueError(
                f"set version or channel, not both (got version {self.version!r} "
                f"and channel {self.channel!r})"
            )
        if not self.version and not self.channel:
            raise ValueError("set one of version or channel")
        return self


class SshSpec(_Model):
    """How Ansible reaches the nodes."""

    user: StrictStr = "pi"
    identity: StrictStr | None = None  # private key file for ansible_ssh_private_key_file
    known_hosts: StrictStr | None = None  # a known_hosts file to pin host keys with

    @field_validator("user")
    @classmethod
    def _user(cls, v: str) -> str:
        if not re.fullmatch(r"[a-z_][a-z0-9_-]{0,31}", v):
            raise ValueError(f"{v!r} is not a valid Linux user name")
        return v


class HostsSpec(_Model):
    """Which discovered hosts join the cluster."""

    include: list[Selector] = Field(default_factory=list)
    exclude: list[Selector] = Field(default_factory=list)


def _check_label(key: str, value: str) -> None:
    prefix, _, name = key.rpartition("/")
    if not _LABEL_NAME.match(name):
        raise ValueError(
            f"label {key!r}: the name part must be ≤ 63 characters of letters, digits, "
            "'-', '_' or '.', starting and ending with a letter or digit"
        )
    if "/" in key:
        if not _LABEL_PREFIX.match(prefix):
            raise ValueError(f"label {key!r}: the prefix {prefix!r} must be a DNS subdomain")
        if (
            prefix in ("kubernetes.io", "k8s.io") or prefix.endswith((".kubernetes.io", ".k8s.io"))
        ) and prefix not in _KUBELET_ALLOWED_PREFIXES:
            raise ValueError(
                f"label {key!r}: kubelet refuses to set labels under {prefix}/ "
                "(apply node-role.kubernetes.io/* with kubectl after the node joins)"
            )
    if not _LABEL_VALUE.match(value):
        raise ValueError(
            f"label {key!r}: value {value!r} must be ≤ 63 characters of letters, digits, "
            "'-', '_' or '.', starting and ending with a letter or digit"
        )


def _check_taint(taint: str) -> str:
    key_value, sep, effect = taint.rpartition(":")
    if not sep:
        raise ValueError(f"taint {taint!r} must look like key=value:Effect")
    if effect not in TAINT_EFFECTS:
        raise ValueError(
            f"taint {taint!r}: effect must be one of {', '.join(TAINT_EFFECTS)}, got {effect!r}"
        )
    key, _, value = key_value.partition("=")
    try:
        _check_label(key, value)
    except ValueError as exc:
        raise ValueError(str(exc).replace("label", f"taint {taint!r}: key", 1)) from None
    return taint


Taint = Annotated[StrictStr, AfterValidator(_check_taint)]


class HostOverride(_Model):
    """What the spec forces on one host."""

    role: Literal["server", "agent"] | None = None
    labels: dict[StrictStr, StrictStr] = Field(default_factory=dict)
    taints: list[Taint] = Field(default_factory=list)

    @field_validator("labels")
    @classmethod
    def _labels(cls, v: dict[str, str]) -> dict[str, str]:
        for key, value in v.items():
            _check_label(key, value)
        return v


def _ipv4(v: Any, kind: Callable[[str], Any], noun: str, why: Callable[[Exception], str]) -> Any:
    """A spec field's text as an IPv4 ``kind`` (address or network); None stays None."""
    if v is None:
        return v
    if not isinstance(v, str):
        raise ValueError(f"must be an IPv4 {noun} written as text, got {v!r}")
    try:
        return kind(v)
    except ValueError as exc:
        raise ValueError(f"{v!r} is not an IPv4 {noun}{why(exc)}") from None


class ClusterSpec(_Model):
    """The whole `cluster.yaml`."""

    name: StrictStr
    k3s: K3sSpec = Field(default_factory=lambda: K3sSpec(channel="stable"))
    servers: int = 1
    # The API VIP the servers share (roles/k3s_vip); inventory writes it as cluster_api_vip.
    api_vip: ipaddress.IPv4Address | None = None
    # Who holds it: keepalived on the servers (default) or kube-vip's static Pod.
    api_vip_mode: Literal["keepalived", "kube-vip"] = "keepalived"
    # Who answers for LoadBalancer Services, and MetalLB's pool (pi_k8s.lb, roles/k3s_lb).
    lb: Literal["servicelb", "metallb"] = "servicelb"
    lb_pool: StrictStr | None = None
    # servicelb's nodes: only these get the svccontroller.k3s.cattle.io/enablelb label.
    lb_nodes: list[Selector] = Field(default_factory=list)
    # The nodes' LAN. When unset, nodes are not checked against one (inventory/checks.py).
    subnet: ipaddress.IPv4Network | None = None
    ssh: SshSpec = Field(default_factory=SshSpec)
    hosts: HostsSpec = Field(default_factory=HostsSpec)
    overrides: dict[Selector, HostOverride] = Field(default_factory=dict)
    # k3s's registries.yaml on every node (pi_k8s.registries); secrets only by reference.
    registries: RegistriesSpec | None = None

    # Where the spec was read from, for error messages ("cluster.yaml: api_vip: …").
    _source: str = PrivateAttr(default="cluster.yaml")

    @property
    def source(self) -> str:
        return self._source

    @field_validator("name")
    @classmethod
    def _name(cls, v: str) -> str:
        if not _DNS_LABEL.match(v):
            raise ValueError(f"must be a DNS label (lowercase letters, digits, '-'), got {v!r}")
        return v

    @field_validator("servers", mode="before")
    @classmethod
    def _servers_type(cls, v: Any) -> Any:
        if isinstance(v, bool) or not isinstance(v, int):
            raise ValueError(f"must be a whole number, got {v!r}")
        return v

    @field_validator("servers")
    @classmethod
    def _servers(cls, v: int) -> int:
        if v < 1 or (v > 1 and v % 2 == 0):
            raise ValueError(f"must be 1 or an odd number ≥ 3 for embedded-etcd HA, got {v}")
        return v

    @field_validator("api_vip", mode="before")
    @classmethod
    def _api_vip(cls, v: Any) -> Any:
        return _ipv4(v, ipaddress.IPv4Address, "address", lambda _: "")

    @model_validator(mode="after")
    def _lb_pool(self) -> ClusterSpec:
        vip, net = self.api_vip and str(self.api_vip), self.subnet and str(self.subnet)
        why = lb_spec_problem(self.lb, self.lb_pool, vip, net, self.lb_nodes)
        if why:
            raise ValueError(why)
        return self

    @model_validator(mode="after")
    def _vip_in_subnet(self) -> ClusterSpec:
        vip, subnet = self.api_vip, self.subnet
        if vip is None and self.api_vip_mode != "keepalived":
            raise ValueError(f"api_vip_mode {self.api_vip_mode} needs api_vip")
        if vip is not None and subnet is not None and vip not in subnet:
            raise ValueError(
                f"api_vip {vip} is outside subnet {subnet}: the VIP must be "
                "a free address of the servers' LAN"
            )
        return self

    @field_validator("subnet", mode="before")
    @classmethod
    def _subnet(cls, v: Any) -> Any:
        return _ipv4(v, ipaddress.IPv4Network, "network", lambda exc: f" in CIDR form ({exc})")

    @field_validator("overrides", mode="before")
    @classmethod
    def _override_keys(cls, v: Any) -> Any:
        if isinstance(v, dict):
            out: dict[Any, Any] = {}
            for key, value in v.items():
                if not isinstance(key, str):
                    raise ValueError(f"key {key!r} must be a hostname, MAC or IPv4 address")
                norm = _normalise_selector(key)
                if norm in out:
                    raise ValueError(f"{key!r} is listed twice")
                out[norm] = value
            return out
        return v


# ---------------------------------------------------------------------------- loading


def load_spec(path: str | Path) -> ClusterSpec:
    """Read and validate a cluster spec; every problem becomes one SpecError."""
    path = Path(path)
    name = path.name
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SpecError(
            f"{path}: no such file.",
            hint="Copy inventory/cluster.example.yaml to cluster.yaml and edit it, "
            "or pass --spec PATH.",
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise SpecError(f"{path}: cannot read the spec: {exc}.") from None
    return parse_spec(text, source=name)


def parse_spec(text: str, *, source: str = "cluster.yaml") -> ClusterSpec:
    """Validate spec text; `source` names the file in error messages."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        where = ""
        mark = getattr(exc, "problem_mark", None)
        if mark is not None:
            where = f" at line {mark.line + 1}, column {mark.column + 1}"
        problem = getattr(exc, "problem", None) or str(exc)
        raise SpecError(
            f"{source}: not valid YAML{where}: {problem}.",
            hint="Check the indentation and quoting around that line.",
        ) from None
    if data is None:
        raise SpecError(
            f"{source}: the spec is empty.",
            hint="A spec needs at least `name:`; see inventory/cluster.example.yaml.",
        )
    if not isinstance(data, dict):
        raise SpecError(
            f"{source}: the spec must be a mapping of keys (name, k3s, servers, …), "
            f"got {_kind(data)}.",
            hint=_DEFAULT_HINT,
        )
    try:
        spec = ClusterSpec.model_validate(data)
    except ValidationError as exc:
        raise _spec_error(source, exc) from None
    spec._source = source
    return spec


def _kind(value: Any) -> str:
    return {
        list: "a list",
        str: "a string",
        int: "a number",
        float: "a number",
        bool: "a boolean",
        dict: "a mapping",
    }.get(type(value), type(value).__name__)


def _loc_text(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif out and (("." in part) or (":" in part) or ("/" in part)):
            out += f"[{part!r}]"
        else:
            out += f".{part}" if out else part
    return out


def _unwrap(t: Any) -> Any:
    """`Annotated[X, ...]` and `X | None` → X."""
    while typing.get_origin(t) in (Annotated, typing.Union, types.UnionType):
        t = next(a for a in typing.get_args(t) if a is not type(None))
    return t


def _model_at(loc: tuple[int | str, ...]) -> type[BaseModel] | None:
    """The pydantic model a location points into, to list the keys it allows."""
    current: Any = ClusterSpec
    for part in loc:
        current = _unwrap(current)
        if isinstance(current, type) and issubclass(current, BaseModel):
            if not isinstance(part, str) or part not in current.model_fields:
                return None
            current = current.model_fields[part].annotation
        elif typing.get_origin(current) in (dict, list):
            current = typing.get_args(current)[-1]
        else:
            return None
    current = _unwrap(current)
    if isinstance(current, type) and issubclass(current, BaseModel):
        return current
    return None


def _message(err: Any) -> str:
    etype = err["type"]
    loc = tuple(err["loc"])
    if etype == "extra_forbidden":
        model = _model_at(loc[:-1])
        allowed = ", ".join(model.model_fields) if model else ""
        return f"unknown key {loc[-1]!r}" + (f" (allowed: {allowed})" if allowed else "")
    if etype == "missing":
        return "required"
    if etype == "literal_error":
        expected = err.get("ctx", {}).get("expected", "")
        return f"must be {expected}, got {err['input']!r}"
    if etype in ("string_type", "int_type", "dict_type", "list_type", "model_type"):
        want = {
            "string_type": "text",
            "int_type": "a whole number",
            "dict_type": "a mapping",
            "list_type": "a list",
            "model_type": "a mapping",
        }[etype]
        got = err["input"]
        text = f"must be {want}, got {_kind(got)} {got!r}"
        if etype == "string_type" and isinstance(got, (bool, int, float)):
            text += " (quote it in YAML to keep it as text)"
        return text
    msg = str(err["msg"])
    for prefix in ("Value error, ", "Assertion failed, "):
        if msg.startswith(prefix):
            msg = msg[len(prefix) :]
    if etype.startswith("ip_v4"):
        return f"{err['input']!r} is not a valid IPv4 address"
    return msg


def _spec_error(source: str, exc: ValidationError) -> SpecError:
    lines = []
    first_field = None
    for err in exc.errors():
        loc = tuple(err["loc"])
        # Drop pydantic's own entries for dict keys ("[key]") and model validators.
        loc = tuple(p for p in loc if p != "[key]")
        if first_field is None:  # a model validator's message starts with its field
            first_field = str(loc[0]) if loc else _message(err).split(" ", 1)[0]
        where = _loc_text(loc)
        lines.append(
            f"{source}: {where}: {_message(err)}" if where else f"{source}: {_message(err)}"
        )
    hint = _HINTS.get(first_field or "", _DEFAULT_HINT)
    return SpecError("\n".join(lines), hint=hint)


def spec_problem(spec: ClusterSpec, field: str, message: str, hint: str | None = None) -> SpecError:
    """A SpecError about one field, found after loading (pi_k8s.inventory's checks)."""
    return SpecError(
        f"{spec.source}: {field}: {message.rstrip('.')}",
        hint=hint or _HINTS.get(field.split(".")[0].split("[")[0]),
    )
