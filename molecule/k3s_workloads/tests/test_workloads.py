"""What a user checks after k3s_workloads: the files k3s will apply, and what was pruned."""

from __future__ import annotations

from typing import Any

MANIFESTS = "/var/lib/rancher/k3s/server/manifests"


def test_each_workload_is_one_root_only_file(host: Any) -> None:
    for name, marker in (("hello", "greeting: hi"), ("chart", "kind: HelmChart")):
        f = host.file(f"{MANIFESTS}/pi-k8s-{name}.yaml")
        assert f.is_file
        assert (f.user, f.group, f.mode) == ("root", "root", 0o600)
        text = f.content_string
        assert text.startswith(f"# Managed by pi-k8s (workload {name})")
        assert marker in text


def test_the_stale_workload_was_deleted_then_removed(host: Any) -> None:
    assert not host.file(f"{MANIFESTS}/pi-k8s-old.yaml").exists
    assert not host.file("/var/lib/rancher/k3s/server/pi-k8s-pruned/pi-k8s-old.yaml").exists
    calls = host.file("/var/log/k3s-calls.log").content_string.splitlines()
    assert calls == [
        "kubectl delete --ignore-not-found -f "
        "/var/lib/rancher/k3s/server/pi-k8s-pruned/pi-k8s-old.yaml"
    ]


def test_a_file_without_the_pi_k8s_header_is_left_alone(host: Any) -> None:
    f = host.file(f"{MANIFESTS}/pi-k8s-handmade.yaml")
    assert f.is_file
    assert "name: handmade" in f.content_string
    assert sorted(host.file(MANIFESTS).listdir()) == [
        "pi-k8s-chart.yaml",
        "pi-k8s-handmade.yaml",
        "pi-k8s-hello.yaml",
    ]
