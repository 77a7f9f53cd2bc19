"""kube-vip's static Pod (pi_k8s.kubevip), rendered and validated offline.

kube-vip cannot run here: the k3s stand-in runs no pods, so this covers the rendering
(ARP mode on the found interface, control-plane leader election, the k3s kubeconfig)
against Kubernetes' own Pod schema; tests/integration/test_lb.py checks that roles/k3s_vip
places this Pod on a server with api_vip_mode kube-vip.
"""

from __future__ import annotations

from pi_k8s import kubevip


def test_the_static_pod_renders_and_validates() -> None:
    pod = kubevip.render_static_pod("10.0.0.250", "eth0")
    assert kubevip.validate(pod) == []
    (container,) = pod["spec"]["containers"]
    env = {e["name"]: e["value"] for e in container["env"]}
    assert env["address"] == "10.0.0.250" and env["vip_interface"] == "eth0"
    assert env["vip_arp"] == "true" and env["cp_enable"] == "true"
    assert env["vip_leaderelection"] == "true" and env["port"] == "6443"
    assert pod["spec"]["hostNetwork"] is True
    assert set(container["securityContext"]["capabilities"]["add"]) == {"NET_ADMIN", "NET_RAW"}
    assert pod["spec"]["volumes"][0]["hostPath"]["path"] == "/etc/rancher/k3s/k3s.yaml"
    assert container["image"] == kubevip.KUBE_VIP_IMAGE


def test_the_schema_check_is_real() -> None:
    pod = kubevip.render_static_pod("10.0.0.250", "eth0")
    pod["spec"]["containers"][0]["imagePullPolicie"] = "Always"
    assert kubevip.validate(pod) == [
        "spec.containers.0: Additional properties are not allowed "
        "('imagePullPolicie' was unexpected)"
    ]
