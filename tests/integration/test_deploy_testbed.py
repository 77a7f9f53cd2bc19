"""`pi-k8s deploy` on two podman test hosts in group `server` (testbed "deploy", 10.213.18.0/24).

k3s cannot run here, so nothing applies the files: these tests check what pi-k8s itself
does on the servers — the files, their content and mode, idempotence, --check, --prune.

Two doubles, installed on each host by the fixture:
- /usr/local/bin/k3s-standin is the project's k3s stand-in (tests/standin/k3s). Its
  kubectl implements only `get nodes`, so `deploy --wait` must fail fast and say so.
- /usr/local/bin/k3s is a recording wrapper: it appends its arguments to
  /var/log/k3s-calls.log, answers `kubectl delete` itself with rc 0 (the stand-in does
  not implement delete; a real k3s would delete the objects and print
  `deployment.apps "x" deleted`), and hands everything else to the stand-in.
"""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from pi_k8s import testbed as tb
from pi_k8s import workloads
from pi_k8s.cli import app
from tests.conftest import REPO, make_testbed

pytestmark = [
    pytest.mark.testbed,
    pytest.mark.standin_only(
        reason="its k3s wraps the stand-in, whose kubectl fails --wait on purpose"
    ),
]

MANIFESTS = "/var/lib/rancher/k3s/server/manifests"
CALLS = "/var/log/k3s-calls.log"
RECORDER = f"""#!/bin/sh
# Test double for k3s: records its arguments (see tests/integration/test_deploy_testbed.py).
printf '%s\\n' "$*" >> {CALLS}
if [ "$1" = kubectl ] && [ "$2" = delete ]; then exit 0; fi
exec /usr/local/bin/k3s-standin "$@"
"""


def _exec(bed: tb.Testbed, host: str, *cmd: str) -> str:
    container = next(h.container for h in bed.hosts if h.name == host)
    proc = subprocess.run(
        ["podman", "exec", container, *cmd], capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


@pytest.fixture(scope="module")
def bed(_private_state_dir: Path) -> Iterator[tb.Testbed]:
    for bed in make_testbed("deploy", "10.213.18.0/24", nodes=2):
        for host in bed.hosts:
            subprocess.run(
                [
                    "podman",
                    "cp",
                    str(REPO / "tests/standin/k3s"),
                    f"{host.container}:/usr/local/bin/k3s-standin",
                ],
                check=True,
            )
            _exec(
                bed,
                host.name,
                "sh",
                "-c",
                f"cat > /usr/local/bin/k3s <<'EOF'\n{RECORDER}EOF\nchmod 0755 /usr/local/bin/k3s",
            )
        yield bed


@pytest.fixture(scope="module")
def inventory(bed: tb.Testbed, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The testbed's hosts as group `server` of k3s_cluster, with a cluster_name for templates."""
    data = json.loads(bed.inventory.read_text())
    inv = {
        "all": {
            "vars": data["all"]["vars"],
            "children": {
                "k3s_cluster": {
                    "vars": {"cluster_name": "tb-deploy"},
                    "children": {"server": {"hosts": data["all"]["hosts"]}},
                }
            },
        }
    }
    path = tmp_path_factory.mktemp("deploy-inv") / "hosts.yml"
    path.write_text(yaml.safe_dump(inv))
    return path


def _spec(tmp: Path, names: list[str]) -> Path:
    """A spec with the example web app and/or a ConfigMap workload `notes`."""
    (tmp / "notes.yaml").write_text(
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: notes, namespace: default}\n"
        "data: {motd: hello}\n"
    )
    items = {
        "hello-web": {"name": "hello-web", "manifests": [str(REPO / "examples/hello-web")]},
        "notes": {"name": "notes", "manifests": ["notes.yaml"]},
    }
    spec = tmp / "workloads.yaml"
    spec.write_text(
        yaml.safe_dump({"vars": {"hello_replicas": 2}, "workloads": [items[n] for n in names]})
    )
    return spec


def _deploy(inventory: Path, spec: Path, *args: str) -> str:
    result = CliRunner().invoke(
        app, ["deploy", "--spec", str(spec), "-i", str(inventory), "--no-wait", *args]
    )
    assert result.exit_code == 0, result.output
    return result.output


def _recap_changed(output: str) -> dict[str, int]:
    """changed= per host from the run summary table (`host ok changed ...` lines)."""
    out = {}
    for line in output.splitlines():
        cells = line.split("\t")
        if len(cells) == 6 and cells[0].startswith("rpi-"):
            out[cells[0]] = int(cells[2])
    return out


def _sums(bed: tb.Testbed) -> dict[str, str]:
    return {
        h.name: _exec(bed, h.name, "sh", "-c", f"cd {MANIFESTS} && sha256sum * | sort")
        for h in bed.hosts
    }


def test_check_on_fresh_servers_creates_nothing(
    bed: tb.Testbed, inventory: Path, tmp_path: Path
) -> None:
    for h in bed.hosts:
        _exec(bed, h.name, "rm", "-rf", "/var/lib/rancher")
    out = _deploy(inventory, _spec(tmp_path, ["hello-web", "notes"]), "--check")
    assert "hello-web\tpi-k8s-hello-web.yaml\twould be added\trpi-1, rpi-2" in out
    assert "+++ rendered:pi-k8s-notes.yaml" in out
    for h in bed.hosts:
        assert _exec(bed, h.name, "sh", "-c", "ls /var/lib/rancher 2>&1 || true").startswith(
            "ls: cannot access"
        )


def test_deploy_places_one_file_per_workload_on_every_server_then_changes_nothing(
    bed: tb.Testbed, inventory: Path, tmp_path: Path
) -> None:
    spec = _spec(tmp_path, ["hello-web", "notes"])
    rendered = workloads.load(spec, {"cluster_name": "tb-deploy"})
    first = _deploy(inventory, spec)
    assert "hello-web\tpi-k8s-hello-web.yaml\tadded\trpi-1, rpi-2" in first
    for host in ("rpi-1", "rpi-2"):
        listing = _exec(
            bed,
            host,
            "stat",
            "-c",
            "%n %a %U",
            f"{MANIFESTS}/pi-k8s-hello-web.yaml",
            f"{MANIFESTS}/pi-k8s-notes.yaml",
        )
        assert listing.split("\n")[:2] == [
            f"{MANIFESTS}/pi-k8s-hello-web.yaml 600 root",
            f"{MANIFESTS}/pi-k8s-notes.yaml 600 root",
        ]
        for w in rendered.workloads:
            assert _exec(bed, host, "cat", f"{MANIFESTS}/{w.filename}") == w.content
        text = _exec(bed, host, "cat", f"{MANIFESTS}/pi-k8s-hello-web.yaml")
        deployment = next(yaml.safe_load_all(text))
        assert deployment["spec"]["replicas"] == 2
        assert deployment["metadata"]["labels"]["app.kubernetes.io/part-of"] == "tb-deploy"
    second = _deploy(inventory, spec)
    assert _recap_changed(second) == {"rpi-1": 0, "rpi-2": 0}
    assert "notes\tpi-k8s-notes.yaml\tunchanged\trpi-1, rpi-2" in second


def test_check_shows_the_diff_and_changes_nothing(
    bed: tb.Testbed, inventory: Path, tmp_path: Path
) -> None:
    spec = _spec(tmp_path, ["hello-web", "notes"])
    _deploy(inventory, spec)
    before = _sums(bed)
    (tmp_path / "notes.yaml").write_text(
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: notes, namespace: default}\n"
        "data: {motd: changed}\n"
    )
    spec.write_text(spec.read_text().replace("hello_replicas: 2", "hello_replicas: 3"))
    out = _deploy(inventory, spec, "--check")
    assert "notes\tpi-k8s-notes.yaml\twould change\trpi-1, rpi-2" in out
    assert "-  motd: hello\n+  motd: changed" in out
    assert "-  replicas: 2\n+  replicas: 3" in out
    assert _sums(bed) == before


def test_prune_deletes_the_resources_and_removes_the_file(
    bed: tb.Testbed, inventory: Path, tmp_path: Path
) -> None:
    _deploy(inventory, _spec(tmp_path, ["hello-web", "notes"]))
    for h in bed.hosts:
        _exec(bed, h.name, "sh", "-c", f": > {CALLS}")
        # Someone else's file in the directory: pi-k8s must never touch it.
        _exec(bed, h.name, "sh", "-c", f"echo 'kind: ConfigMap' > {MANIFESTS}/traefik-extra.yaml")
    only_web = _spec(tmp_path, ["hello-web"])

    kept = _deploy(inventory, only_web)
    assert "notes\tpi-k8s-notes.yaml\tnot in the spec (kept; --prune deletes it)" in kept
    assert "--prune" in kept
    for h in bed.hosts:
        assert "pi-k8s-notes.yaml" in _exec(bed, h.name, "ls", MANIFESTS)
        assert _exec(bed, h.name, "cat", CALLS) == ""

    check = _deploy(inventory, only_web, "--prune", "--check")
    assert "would be removed" in check
    for h in bed.hosts:
        assert "pi-k8s-notes.yaml" in _exec(bed, h.name, "ls", MANIFESTS)
        assert _exec(bed, h.name, "cat", CALLS) == ""

    pruned = _deploy(inventory, only_web, "--prune")
    assert "notes\tpi-k8s-notes.yaml\tremoved (resources deleted)\trpi-1, rpi-2" in pruned
    for h in bed.hosts:
        assert _exec(bed, h.name, "ls", MANIFESTS).split() == [
            "pi-k8s-hello-web.yaml",
            "traefik-extra.yaml",
        ]
        calls = _exec(bed, h.name, "cat", CALLS).splitlines()
        assert calls == [
            "kubectl delete --ignore-not-found -f "
            "/var/lib/rancher/k3s/server/pi-k8s-pruned/pi-k8s-notes.yaml"
        ]
        assert _exec(bed, h.name, "ls", "-A", "/var/lib/rancher/k3s/server/pi-k8s-pruned") == ""
    again = _deploy(inventory, only_web, "--prune")
    assert _recap_changed(again) == {"rpi-1": 0, "rpi-2": 0}


def test_wait_on_the_standin_fails_fast_and_says_why(
    bed: tb.Testbed, inventory: Path, tmp_path: Path
) -> None:
    spec = _spec(tmp_path, ["hello-web"])
    start = time.monotonic()
    result = CliRunner().invoke(
        app, ["deploy", "--spec", str(spec), "-i", str(inventory), "--wait", "--timeout", "120"]
    )
    elapsed = time.monotonic() - start
    assert result.exit_code == 5, result.output
    assert "Could not read rollout status with `k3s kubectl get deployments.apps" in result.output
    assert "the k3s stand-in does not implement" in result.output
    assert "--no-wait" in result.output
    assert elapsed < 60
    calls = _exec(bed, "rpi-1", "cat", CALLS)
    assert "kubectl get deployments.apps --all-namespaces -o json" in calls
    assert "kubectl get" not in _exec(bed, "rpi-2", "cat", CALLS)
