"""LoadBalancer pools (pi_k8s.lb): refused with servicelb, checked against the members,
the API VIP and the DHCP range; MetalLB's objects rendered and validated offline against
MetalLB's own CRD schemas (shipped with their version and source)."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from pi_k8s import lb
from pi_k8s.errors import SpecError

INV = Path("hosts.yml")
HOSTS = {"s1": {"ansible_host": "10.0.0.11"}, "a1": {"ansible_host": "10.0.0.21"}}


def hostvars(**cluster: Any) -> dict[str, dict[str, Any]]:
    return {h: {**hv, **cluster} for h, hv in HOSTS.items()}


def test_no_pool_is_servicelb() -> None:
    assert lb.check_inventory(INV, hostvars(), None) == ("servicelb", None)


def test_servicelb_nodes_of_the_inventory_are_accepted() -> None:
    assert lb.check_inventory(INV, hostvars(cluster_lb_nodes=["a1"]), None) == ("servicelb", None)


def test_lb_nodes_in_the_spec_need_servicelb() -> None:
    assert lb.spec_problem("servicelb", None, None, None, ["rpi-2"]) is None
    why = lb.spec_problem("metallb", "10.0.0.240/28", None, None, ["rpi-2"])
    assert why and why.startswith("lb_nodes chooses servicelb's nodes, but lb is metallb")


def test_a_free_pool_with_metallb_is_accepted() -> None:
    got = lb.check_inventory(
        INV,
        hostvars(
            cluster_lb="metallb",
            cluster_lb_pool="10.0.0.240/28",
            cluster_dhcp_range="10.0.0.100-10.0.0.199",
        ),
        "10.0.0.230",
    )
    assert got == ("metallb", "10.0.0.240/28")


@pytest.mark.parametrize(
    ("cluster", "vip", "message", "hint"),
    [
        (
            {"cluster_lb_pool": "10.0.0.240/28"},
            None,
            "cluster_lb_pool 10.0.0.240/28 is set but cluster_lb is servicelb",
            "Set cluster_lb: metallb",
        ),
        (
            {"cluster_lb": "metallb", "cluster_lb_pool": "10.0.0.240-10.0.0.250"},
            "10.0.0.250",
            "cluster_lb_pool 10.0.0.240-10.0.0.250 overlaps the API VIP 10.0.0.250",
            "keep the VIP outside the pool",
        ),
        (
            {"cluster_lb": "metallb", "cluster_lb_pool": "10.0.0.16/28"},
            None,
            "cluster_lb_pool 10.0.0.16/28 holds the address of a1 (10.0.0.21)",
            "pick a pool of free addresses",
        ),
        (
            {
                "cluster_lb": "metallb",
                "cluster_lb_pool": "10.0.0.190-10.0.0.209",
                "cluster_dhcp_range": "10.0.0.100-10.0.0.199",
            },
            None,
            "cluster_lb_pool 10.0.0.190-10.0.0.209 overlaps cluster_dhcp_range",
            "outside the DHCP range",
        ),
        (
            {"cluster_lb": "metallb"},
            None,
            "cluster_lb metallb needs cluster_lb_pool",
            "192.168.1.240-192.168.1.249",
        ),
        (
            {"cluster_lb": "metallb", "cluster_lb_pool": "10.0.0.240/27"},
            None,
            "cluster_lb_pool '10.0.0.240/27' is not a CIDR or FIRST-LAST",
            "192.168.1.240/28",
        ),
        ({"cluster_lb": "klipper"}, None, "cluster_lb 'klipper' is neither", "servicelb"),
        (
            {
                "cluster_lb": "metallb",
                "cluster_lb_pool": "10.0.0.240/28",
                "cluster_lb_nodes": ["a1"],
            },
            None,
            "cluster_lb_nodes chooses servicelb's nodes, but cluster_lb is metallb",
            "remove cluster_lb_nodes",
        ),
        (
            {"cluster_lb_nodes": ["a1", "a9"]},
            None,
            "cluster_lb_nodes names a9, not a host of the inventory",
            "inventory name",
        ),
        ({"cluster_lb_nodes": "a1"}, None, "must be a list of inventory hostnames", "[rpi-2"),
    ],
)
def test_a_pool_that_cannot_work_is_refused(
    cluster: dict[str, Any], vip: str | None, message: str, hint: str
) -> None:
    with pytest.raises(SpecError) as exc:
        lb.check_inventory(INV, hostvars(**cluster), vip)
    assert message in exc.value.message
    assert exc.value.exit_code == 3 and exc.value.hint and hint in exc.value.hint


def test_metallb_replaces_servicelb() -> None:
    assert lb.METALLB_K3S_CONFIG == {"disable": ["servicelb"]}


@pytest.mark.parametrize(
    ("pool", "addresses"),
    [("10.0.0.240/28", "10.0.0.240/28"), ("10.0.0.240 - 10.0.0.249", "10.0.0.240-10.0.0.249")],
)
def test_metallb_objects_render_and_validate(pool: str, addresses: str) -> None:
    chart, ippool, l2 = lb.render_metallb(pool)
    assert (chart["kind"], chart["spec"]["chart"], chart["spec"]["targetNamespace"]) == (
        "HelmChart",
        "metallb",
        "metallb-system",
    )
    assert ippool["spec"] == {"addresses": [addresses]}
    assert l2["spec"] == {"ipAddressPools": [ippool["metadata"]["name"]]}
    assert lb.validate([chart, ippool, l2]) == []


def test_the_schemas_catch_a_wrong_type_and_an_unknown_field() -> None:
    docs = copy.deepcopy(lb.render_metallb("10.0.0.240/28"))
    docs[1]["spec"]["addresses"] = "10.0.0.240/28"  # must be a list
    docs[2]["spec"]["ipAddressPool"] = ["x"]  # misspelt ipAddressPools
    problems = lb.validate(docs)
    assert "IPAddressPool pi-k8s-pool: spec.addresses: '10.0.0.240/28' is not of type 'array'" in (
        problems
    )
    assert "L2Advertisement pi-k8s-l2: spec.ipAddressPool: unknown field" in problems


def test_the_shipped_schemas_say_where_they_come_from() -> None:
    data = lb.metallb_schemas()
    source = data["source"]
    assert source["version"] == "v0.16.1" and len(source["commit"]) == 40
    assert source["license"] == "Apache-2.0"
    assert source["files"] == [
        "config/crd/bases/metallb.io_ipaddresspools.yaml",
        "config/crd/bases/metallb.io_l2advertisements.yaml",
    ]
    assert set(data["schemas"]) == {
        "metallb.io/v1beta1/IPAddressPool",
        "metallb.io/v1beta1/L2Advertisement",
    }


# ------------------------------------------------------- chart archive, the hosts' check


def test_a_chart_archive_replaces_the_repository_and_validates() -> None:
    docs = lb.render_metallb("10.0.0.240/28", chart_content="H4sIAAAA")
    assert docs[0]["spec"] == {
        "chartContent": "H4sIAAAA",
        "targetNamespace": lb.METALLB_NAMESPACE,
        "createNamespace": True,
    }
    assert lb.validate(docs) == []


def _filter() -> Any:
    import importlib.util

    path = Path(__file__).resolve().parents[2] / "plugins" / "filter" / "k3s_lb_pool.py"
    spec = importlib.util.spec_from_file_location("k3s_lb_pool", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.k3s_lb_pool_problems


# Ansible's facts of a host whose eth0 holds 10.0.0.11/24.
FACTS = {
    "interfaces": ["lo", "eth0"],
    "lo": {"ipv4": {"address": "127.0.0.1", "netmask": "255.0.0.0"}},
    "eth0": {"ipv4": {"address": "10.0.0.11", "netmask": "255.255.255.0"}},
}


@pytest.mark.parametrize(
    ("pool", "vip", "dhcp", "problems"),
    [
        ("10.0.0.240/28", "10.0.0.230", "10.0.0.100-10.0.0.199", []),
        (
            "10.0.1.240/28",
            "",
            "",
            [
                "The LB pool 10.0.1.240/28 is not inside s1's subnet 10.0.0.0/24 (eth0): "
                "MetalLB announces the pool with ARP on the nodes' own LAN, so pick free "
                "addresses inside 10.0.0.0/24."
            ],
        ),
        ("10.0.0.250-10.0.1.5", "", "", ["not inside s1's subnet"]),
        ("10.0.0.8/29", "", "", ["The LB pool 10.0.0.8/29 holds the address of s1 (10.0.0.11)."]),
        ("10.0.0.240/28", "10.0.0.241", "", ["The LB pool 10.0.0.240/28 overlaps the API VIP"]),
        ("10.0.0.190-10.0.0.209", "", "10.0.0.100-10.0.0.199", ["overlaps the DHCP range"]),
        ("10.0.0.240/27", "", "", ["The LB pool '10.0.0.240/27' is not a CIDR or FIRST-LAST"]),
    ],
)
def test_the_hosts_check_of_the_pool(pool: str, vip: str, dhcp: str, problems: list[str]) -> None:
    got = _filter()(pool, "s1", "10.0.0.11", FACTS, vip, dhcp)
    assert len(got) == len(problems), got
    for text, want in zip(got, problems, strict=True):
        assert want in text, got


def test_the_hosts_check_names_a_host_without_its_address() -> None:
    got = _filter()("10.0.0.240/28", "s1", "10.0.0.99", FACTS)
    assert got == ["s1 has no interface holding its address 10.0.0.99."]
