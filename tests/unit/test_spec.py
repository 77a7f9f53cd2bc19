"""The cluster spec: defaults, normalisation, and the documented example."""

from __future__ import annotations

import re
import typing
from pathlib import Path

import pytest
from pydantic import BaseModel

from pi_k8s.errors import SpecError
from pi_k8s.spec import ClusterSpec, load_spec, parse_spec

REPO = Path(__file__).resolve().parent.parent.parent
EXAMPLE = REPO / "inventory" / "cluster.example.yaml"


def _models(model: type[BaseModel]) -> list[type[BaseModel]]:
    found = [model]
    for f in model.model_fields.values():
        stack = [f.annotation]
        while stack:
            t = stack.pop()
            if isinstance(t, type) and issubclass(t, BaseModel) and t not in found:
                found.extend(_models(t))
            stack.extend(typing.get_args(t))
    return found


def test_the_example_spec_is_valid_and_documents_every_field() -> None:
    spec = load_spec(EXAMPLE)
    assert spec.name == "homelab"
    text = EXAMPLE.read_text()
    for model in _models(ClusterSpec):
        for name in model.model_fields:
            # Each key appears as a YAML key, set or commented out, with a comment above.
            assert re.search(rf"^\s*#?\s*{name}:", text, re.M), f"{model.__name__}.{name}"


def test_the_example_commented_values_are_valid_too() -> None:
    text = EXAMPLE.read_text()
    for key in ("subnet",):
        text = re.sub(rf"^# ({key}:)", r"\1", text, flags=re.M)
    for key in ("identity", "known_hosts"):
        text = re.sub(rf"^  # ({key}:)", r"  \1", text, flags=re.M)
    spec = parse_spec(text)
    assert str(spec.subnet) == "192.168.1.0/24"
    assert spec.ssh.identity == "~/.ssh/id_ed25519"


def test_the_examples_lb_and_pool_are_accepted_together() -> None:
    text = re.sub(r"^# (lb_pool:|lb:)", r"\1", EXAMPLE.read_text(), flags=re.M)
    spec = parse_spec(text)
    assert (spec.lb, spec.lb_pool) == ("metallb", "192.168.1.240/28")


def test_the_examples_pool_alone_is_refused_with_a_hint_to_metallb() -> None:
    """servicelb (the default) has no pool of its own."""
    text = re.sub(r"^# (lb_pool:)", r"\1", EXAMPLE.read_text(), flags=re.M)
    with pytest.raises(SpecError) as exc:
        parse_spec(text)
    assert exc.value.message == (
        "cluster.yaml: lb_pool 192.168.1.240/28 is set but lb is servicelb: k3s's servicelb "
        "has no address pool, it answers on the nodes' own addresses; set lb: metallb to "
        "hand out the pool"
    )
    assert exc.value.exit_code == 3
    assert exc.value.hint is not None and exc.value.hint.startswith("With lb: metallb,")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("lb: metallb", "cluster.yaml: lb metallb needs lb_pool"),
        ("lb: klipper", "cluster.yaml: lb: must be 'servicelb' or 'metallb', got 'klipper'"),
        (
            "lb: metallb\nlb_pool: 10.0.0.240/27",
            "cluster.yaml: lb_pool '10.0.0.240/27' is not a CIDR",
        ),
        (
            "lb: metallb\nlb_pool: 10.1.0.240/28\nsubnet: 10.0.0.0/24",
            "cluster.yaml: lb_pool 10.1.0.240/28 is not inside subnet 10.0.0.0/24",
        ),
        (
            "lb: metallb\nlb_pool: 10.0.0.240-10.0.0.250\napi_vip: 10.0.0.250",
            "cluster.yaml: lb_pool 10.0.0.240-10.0.0.250 overlaps the API VIP 10.0.0.250",
        ),
    ],
)
def test_bad_lb_settings_are_refused(text: str, message: str) -> None:
    with pytest.raises(SpecError) as exc:
        parse_spec(f"name: a\n{text}\n")
    assert exc.value.message.startswith(message), exc.value.message


def test_the_pool_is_written_to_the_inventory_with_metallb() -> None:
    from pi_k8s.inventory import build_inventory
    from pi_k8s.models import PiHost

    spec = parse_spec("name: a\nlb: metallb\nlb_pool: 10.0.0.240-10.0.0.249\n")
    host = PiHost(ip="10.0.0.11", hostname="pi-a", is_pi=True, memory_mb=4096)
    gv = build_inventory(spec, [host])["all"]["children"]["k3s_cluster"]["vars"]
    assert (gv["cluster_lb"], gv["cluster_lb_pool"]) == ("metallb", "10.0.0.240-10.0.0.249")


def test_the_examples_api_vip_is_accepted() -> None:
    text = re.sub(r"^# (api_vip:)", r"\1", EXAMPLE.read_text(), flags=re.M)
    assert str(parse_spec(text).api_vip) == "192.168.1.200"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("api_vip: 192.168.1.300", "cluster.yaml: api_vip: '192.168.1.300' is not an IPv4 address"),
        ("api_vip: 7", "cluster.yaml: api_vip: must be an IPv4 address written as text, got 7"),
        (
            "subnet: 10.0.0.0/24\napi_vip: 192.168.1.250",
            "api_vip 192.168.1.250 is outside subnet 10.0.0.0/24",
        ),
    ],
)
def test_a_bad_api_vip_is_refused(text: str, message: str) -> None:
    with pytest.raises(SpecError) as exc:
        parse_spec(f"name: lab\n{text}\n")
    assert message in exc.value.message
    assert exc.value.exit_code == 3


def test_defaults() -> None:
    spec = parse_spec("name: lab\n")
    assert spec.k3s.channel == "stable" and spec.k3s.version is None
    assert spec.servers == 1
    assert spec.ssh.user == "pi"
    assert spec.api_vip is None and spec.lb_pool is None and spec.subnet is None
    assert spec.hosts.include == [] and spec.hosts.exclude == [] and spec.overrides == {}


def test_selectors_are_normalised() -> None:
    spec = parse_spec(
        "name: lab\n"
        "hosts:\n"
        "  include: [DC-A6-32-01-02-03, Pi-A.local, 192.168.1.7]\n"
        "overrides:\n"
        "  E4:5F:01:AA:BB:CC: {role: agent}\n"
    )
    assert spec.hosts.include == ["dc:a6:32:01:02:03", "pi-a.local", "192.168.1.7"]
    assert list(spec.overrides) == ["e4:5f:01:aa:bb:cc"]


@pytest.mark.parametrize("version", ["v1.31.4+k3s1", "v1.32.0-rc1+k3s1", "v1.28.15+k3s2"])
def test_valid_versions(version: str) -> None:
    assert parse_spec(f"name: lab\nk3s: {{version: '{version}'}}\n").k3s.version == version


@pytest.mark.parametrize("version", ["v1.31.4", "1.31.4+k3s1", "v1.31+k3s1", "latest"])
def test_invalid_versions(version: str) -> None:
    with pytest.raises(SpecError, match=r"k3s\.version: must be a k3s release tag"):
        parse_spec(f"name: lab\nk3s: {{version: '{version}'}}\n")


@pytest.mark.parametrize(
    "taint", ["gpu:NoSchedule", "a=b:NoExecute", "example.com/x=y:PreferNoSchedule"]
)
def test_valid_taints(taint: str) -> None:
    spec = parse_spec(f"name: lab\noverrides:\n  pi-a:\n    taints: ['{taint}']\n")
    assert spec.overrides["pi-a"].taints == [taint]


def test_label_with_empty_value_and_allowed_kubernetes_prefix() -> None:
    spec = parse_spec(
        "name: lab\noverrides:\n  pi-a:\n    labels:\n"
        "      node.kubernetes.io/storage: nvme\n      edge: ''\n"
    )
    assert spec.overrides["pi-a"].labels == {"node.kubernetes.io/storage": "nvme", "edge": ""}


def test_every_problem_is_reported_with_the_hint_of_the_first() -> None:
    with pytest.raises(SpecError) as info:
        parse_spec("name: Lab\nservers: 2\nssh: {user: Root}\n", source="c.yaml")
    lines = info.value.message.splitlines()
    assert [line.split(":")[1].strip() for line in lines] == ["name", "servers", "ssh.user"]
    assert all(line.startswith("c.yaml: ") for line in lines)
    assert info.value.hint is not None and info.value.hint.startswith("Use lowercase letters")
    assert info.value.exit_code == 3


@pytest.mark.parametrize("channel", ["stable", "latest", "testing", "v1.31"])
def test_valid_channels(channel: str) -> None:
    assert parse_spec(f"name: lab\nk3s: {{channel: '{channel}'}}\n").k3s.channel == channel


def test_api_vip_mode_kube_vip_is_written_to_the_inventory_and_needs_a_vip() -> None:
    from pi_k8s.inventory import build_inventory
    from pi_k8s.models import PiHost

    host = PiHost(ip="10.0.0.11", hostname="pi-a", is_pi=True, memory_mb=4096)
    spec = parse_spec("name: a\napi_vip: 10.0.0.250\napi_vip_mode: kube-vip\n")
    gv = build_inventory(spec, [host])["all"]["children"]["k3s_cluster"]["vars"]
    assert (gv["cluster_api_vip"], gv["cluster_api_vip_mode"]) == ("10.0.0.250", "kube-vip")
    keepalived = parse_spec("name: a\napi_vip: 10.0.0.250\n")
    gv = build_inventory(keepalived, [host])["all"]["children"]["k3s_cluster"]["vars"]
    assert "cluster_api_vip_mode" not in gv  # keepalived, the roles' default
    with pytest.raises(SpecError) as exc:
        parse_spec("name: a\napi_vip_mode: kube-vip\n")
    assert exc.value.message == "cluster.yaml: api_vip_mode kube-vip needs api_vip"
    assert exc.value.hint is not None and exc.value.hint.startswith("Use api_vip_mode:")
