"""The API VIP's checks that need no host: the inventory's VIP (pi_k8s.vip) and how
verify reports the holder (pi_k8s.verify.vip)."""

from __future__ import annotations

from pathlib import Path

import pytest

from pi_k8s import vip
from pi_k8s.errors import SpecError
from pi_k8s.verify import vip as verify_vip
from pi_k8s.verify.model import FAIL, PASS

INV = Path("hosts.yml")
HOSTS = {"s1": {"ansible_host": "10.0.0.11"}, "a1": {"ansible_host": "10.0.0.21"}}


def hostvars(**cluster: str) -> dict[str, dict[str, str]]:
    return {h: {**hv, **cluster} for h, hv in HOSTS.items()}


def test_no_vip_is_none() -> None:
    assert vip.check_inventory(INV, hostvars()) is None


def test_a_free_vip_is_returned() -> None:
    got = vip.check_inventory(
        INV, hostvars(cluster_api_vip="10.0.0.250", cluster_dhcp_range="10.0.0.100-10.0.0.199")
    )
    assert got == "10.0.0.250"


@pytest.mark.parametrize(
    ("cluster", "message"),
    [
        ({"cluster_api_vip": "10.0.0.21"}, "cluster_api_vip 10.0.0.21 is the address of a1"),
        ({"cluster_api_vip": "eth0"}, "cluster_api_vip 'eth0' is not an IPv4 address"),
        (
            {"cluster_api_vip": "10.0.0.150", "cluster_dhcp_range": "10.0.0.100-10.0.0.199"},
            "cluster_api_vip 10.0.0.150 is inside cluster_dhcp_range 10.0.0.100-10.0.0.199",
        ),
        (
            {"cluster_api_vip": "10.0.0.250", "cluster_dhcp_range": "10.0.0.100"},
            "cluster_dhcp_range '10.0.0.100' is not FIRST-LAST",
        ),
        (
            {"cluster_api_vip": "10.0.0.250", "cluster_dhcp_range": "10.0.0.199-10.0.0.100"},
            "ends before it starts",
        ),
    ],
)
def test_a_vip_that_cannot_work_is_refused(cluster: dict[str, str], message: str) -> None:
    with pytest.raises(SpecError) as exc:
        vip.check_inventory(INV, hostvars(**cluster))
    assert message in exc.value.message
    assert exc.value.exit_code == 3 and exc.value.hint


def test_a_vip_set_differently_per_host_is_refused() -> None:
    hv = hostvars(cluster_api_vip="10.0.0.250")
    hv["a1"]["cluster_api_vip"] = "10.0.0.251"
    with pytest.raises(SpecError) as exc:
        vip.check_inventory(INV, hv)
    assert "differs between hosts (10.0.0.250, 10.0.0.251)" in exc.value.message


@pytest.mark.parametrize(
    ("holders", "status", "detail"),
    [
        (["rpi-2"], PASS, "held by rpi-2"),
        ([], FAIL, "held by no server"),
        (["rpi-1", "rpi-2"], FAIL, "held by rpi-1, rpi-2"),
    ],
)
def test_exactly_one_server_holds_the_vip(
    monkeypatch: pytest.MonkeyPatch, holders: list[str], status: str, detail: str
) -> None:
    monkeypatch.setattr("pi_k8s.status.api.ping", lambda address: (True, "pong in 3 ms"))
    controller, holder = verify_vip.vip_cluster_checks("10.0.0.250", holders)
    assert (controller.host, controller.status) == ("controller", PASS)
    assert controller.detail == "https://10.0.0.250:6443/ping: pong in 3 ms"
    assert (holder.host, holder.name, holder.status, holder.detail) == (
        "10.0.0.250",
        "API VIP holder",
        status,
        detail,
    )
    assert bool(holder.hint) == (status == FAIL)


def test_the_controller_not_reaching_the_vip_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("pi_k8s.status.api.ping", lambda address: (False, "no answer (timeout)"))
    controller, _ = verify_vip.vip_cluster_checks("10.0.0.250", ["rpi-1"])
    assert controller.status == FAIL and "no answer (timeout)" in controller.detail
    assert "keepalived" in controller.hint


@pytest.mark.parametrize(
    ("cluster", "message"),
    [
        ({"cluster_api_vip_mode": "vrrp"}, "cluster_api_vip_mode vrrp is neither keepalived"),
        (
            {"cluster_api_vip_mode": "kube-vip"},
            "cluster_api_vip_mode kube-vip needs cluster_api_vip",
        ),
    ],
)
def test_a_vip_mode_that_cannot_work_is_refused(cluster: dict[str, str], message: str) -> None:
    with pytest.raises(SpecError) as exc:
        vip.check_inventory(INV, hostvars(**cluster))
    assert message in exc.value.message
    assert exc.value.hint is not None and "kube-vip" in exc.value.hint


def test_kube_vip_mode_with_a_vip_is_accepted() -> None:
    got = vip.check_inventory(
        INV, hostvars(cluster_api_vip="10.0.0.250", cluster_api_vip_mode="kube-vip")
    )
    assert got == "10.0.0.250"
