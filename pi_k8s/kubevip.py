"""kube-vip's static Pod for the API VIP, rendered and validated offline (issue 15 §2).

The alternative to keepalived (roles/k3s_vip): kube-vip in ARP mode with control-plane
leader election, as a static Pod the kubelet of each server runs from k3s's static Pod
directory (``/var/lib/rancher/k3s/agent/pod-manifests``) once the file is there before k3s
starts. It reaches the local API through ``/etc/rancher/k3s/k3s.yaml`` for its lease. The
settings are the environment variables kube-vip's documentation gives for a static Pod
(kube-vip.io/docs/installation/static): ``vip_arp``, ``vip_interface``, ``address``,
``port``, ``cp_enable``, ``vip_leaderelection`` and the lease timings.

With ``api_vip_mode: kube-vip`` (``cluster_api_vip_mode``) roles/k3s_vip places the same
Pod (its ``static_pod`` entry point, run by site.yml before k3s_server) and installs no
keepalived. The project's tests run no pods, so kube-vip never starts in them;
tests/unit/test_kubevip.py checks the rendering and tests/integration/test_lb.py that the
role places this Pod before k3s starts.
"""

from __future__ import annotations

from typing import Any

# kube-vip's image; an offline LAN loads it from the airgap image archive.
KUBE_VIP_IMAGE = "ghcr.io/kube-vip/kube-vip:v0.8.9"
STATIC_POD_DIR = "/var/lib/rancher/k3s/agent/pod-manifests"
K3S_KUBECONFIG = "/etc/rancher/k3s/k3s.yaml"
KUBE_VERSION = "1.31.0"


def render_static_pod(vip: str, interface: str, *, image: str = KUBE_VIP_IMAGE) -> dict[str, Any]:
    """The kube-vip Pod for one server: ARP mode on ``interface``, control plane only."""
    env = {
        "vip_arp": "true",
        "port": "6443",
        "vip_interface": interface,
        "vip_cidr": "32",
        "cp_enable": "true",
        "cp_namespace": "kube-system",
        "vip_leaderelection": "true",
        "vip_leasename": "plndr-cp-lock",
        "vip_leaseduration": "5",
        "vip_renewdeadline": "3",
        "vip_retryperiod": "1",
        "address": vip,
    }
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "kube-vip", "namespace": "kube-system"},
        "spec": {
            "hostNetwork": True,
            "hostAliases": [{"ip": "127.0.0.1", "hostnames": ["kubernetes"]}],
            "containers": [
                {
                    "name": "kube-vip",
                    "image": image,
                    "imagePullPolicy": "IfNotPresent",
                    "args": ["manager"],
                    "env": [{"name": k, "value": v} for k, v in env.items()],
                    "securityContext": {"capabilities": {"add": ["NET_ADMIN", "NET_RAW"]}},
                    "volumeMounts": [
                        {"name": "kubeconfig", "mountPath": "/etc/kubernetes/admin.conf"}
                    ],
                }
            ],
            "volumes": [
                {"name": "kubeconfig", "hostPath": {"path": K3S_KUBECONFIG, "type": "File"}}
            ],
        },
    }


def validate(doc: dict[str, Any], kube_version: str = KUBE_VERSION) -> list[str]:
    """Problems with the Pod against Kubernetes' own schema (strict: unknown fields too)."""
    import kubernetes_validate as kv

    try:
        kv.validate(doc, kube_version, strict=True)
    except kv.ValidationError as exc:
        return [f"{'.'.join(map(str, exc.path)) or '(object)'}: {exc.message}"]
    return []
