"""MetalLB for LoadBalancer Services on the testbed (issue 15 §3), and a reset of a cluster
with an API VIP (keepalived gone, every host back to its snapshot).

Two Pi hosts on 10.213.110.0/24 (rpi-1 the server, rpi-2 the agent), the k3s stand-in
(tests/standin) and Debian's keepalived (in the testbed image). The inventory sets
``cluster_lb: metallb``, ``cluster_lb_pool`` and an API VIP.

What is proven here is what pi-k8s does on the hosts: the servers' config.yaml disables
servicelb, and the first server holds MetalLB's HelmChart, IPAddressPool and
L2Advertisement in k3s's auto-deploy manifests directory, valid against the shipped
schemas, with nothing changed by a second run. MetalLB handing out addresses cannot run
here: the stand-in runs no Helm controller and no pods, so nothing installs the chart and
no Service gets a pool address.

The sequence, in file order: a pool outside the hosts' subnet refused by site.yml's first
play before any host is touched → the snapshot → bootstrap → the checks → a second
bootstrap (changed=0) → the chart from an archive (chartContent) → back to servicelb on
the nodes ``cluster_lb_nodes`` lists → `pi-k8s reset`.
"""

from __future__ import annotations

import base64
import io
import json
import tarfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from pi_k8s import kubevip, lb
from pi_k8s.cli import app
from tests.conftest import K3S_VERSION, cli, make_testbed, run_bootstrap
from tests.conftest import host_sh as sh
from tests.host_snapshot import snapshots, without_markers
from tests.integration.test_bootstrap import recap
from tests.testbed_inventory import cluster_inventory

pytestmark = pytest.mark.testbed

NAME = "lbx"
SUBNET = "10.213.110.0/24"
VIP = "10.213.110.250"
POOL = "10.213.110.240/29"
MANIFEST = "/var/lib/rancher/k3s/server/manifests/metallb-pi-k8s.yaml"
FIGURES: dict[str, float] = {}


@pytest.fixture(scope="module")
def bed(own_state_dir: Path, controller_home: Path) -> Iterator[dict[str, Any]]:
    for testbed in make_testbed(NAME, SUBNET, nodes=2):
        containers = {h.name: h.container for h in testbed.hosts}
        yield {"bed": testbed, "containers": containers}


def inventory(bed: dict[str, Any], path: Path, **extra: object) -> Path:
    group_vars = {"cluster_api_vip": VIP, "cluster_lb": "metallb", "cluster_lb_pool": POOL}
    inv = cluster_inventory(bed["bed"], ["rpi-1"], ["rpi-2"], **(group_vars | extra))
    path.write_text(yaml.safe_dump(inv))
    return path


def manifest(bed: dict[str, Any]) -> list[dict[str, Any]]:
    got = sh(bed["bed"], "rpi-1", f"cat {MANIFEST}")
    assert got.returncode == 0, got.stderr
    return list(yaml.safe_load_all(got.stdout))


def test_a_pool_outside_the_subnet_is_refused_before_any_host_is_touched(
    bed: dict[str, Any], airgap: Path, tmp_path: Path
) -> None:
    before = snapshots(bed["containers"])
    inv = inventory(bed, tmp_path / "hosts.yml", cluster_lb_pool="10.213.111.240/29")
    rc, out = run_bootstrap(inv, airgap)
    assert rc == 4, out
    text = " ".join(out.split())
    for host in ("rpi-1", "rpi-2"):
        assert (
            f"The LB pool 10.213.111.240/29 is not inside {host}'s subnet {SUBNET} (eth0)" in text
        ), out
    assert snapshots(bed["containers"]) == before


def test_bootstrap_places_metallb_on_the_first_server(
    bed: dict[str, Any], airgap: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    bed["before"] = snapshots(bed["containers"])
    bed["inventory"] = inventory(bed, tmp_path_factory.mktemp("lb") / "hosts.yml")
    start = time.monotonic()
    rc, out = run_bootstrap(bed["inventory"], airgap)
    FIGURES["bootstrap 1 server + 1 agent, VIP + metallb, verify included (s)"] = (
        time.monotonic() - start
    )
    assert rc == 0, out
    server = yaml.safe_load(sh(bed["bed"], "rpi-1", "cat /etc/rancher/k3s/config.yaml").stdout)
    assert server["disable"] == ["servicelb"]
    agent = yaml.safe_load(sh(bed["bed"], "rpi-2", "cat /etc/rancher/k3s/config.yaml").stdout)
    assert "disable" not in agent  # a server setting
    docs = manifest(bed)
    assert lb.validate(docs) == []
    assert docs == lb.render_metallb(POOL)
    assert docs[0]["spec"]["repo"] == lb.METALLB_CHART_REPO
    assert docs[1]["spec"]["addresses"] == [POOL]
    mode = sh(bed["bed"], "rpi-1", f"stat -c '%a %U' {MANIFEST}").stdout.split()
    assert mode == ["600", "root"]
    assert sh(bed["bed"], "rpi-2", f"test -e {MANIFEST}").returncode == 1


def test_a_second_bootstrap_changes_nothing_also_with_fast(
    bed: dict[str, Any], airgap: Path
) -> None:
    """The no-op re-run with --fast (Mitogen's strategy, pi_k8s/fast.py): nothing changed,
    and Ansible's deprecation warning for third-party strategies in none of its output."""
    code, out = cli(
        "bootstrap", "-i", str(bed["inventory"]), "--airgap", str(airgap),
        "--k3s-version", K3S_VERSION, "--skip-workloads", "--no-verify", "--fast", "--json",
    )  # fmt: skip
    assert code == 0, out
    run = json.loads(out)["run"]
    assert {h: s["changed"] for h, s in run["recap"].items()} == {"rpi-1": 0, "rpi-2": 0}, run
    stdout = "".join(p.read_text() for p in Path(run["artifacts"]).glob("stdout"))
    assert "DEPRECATION" not in stdout and "PLAY RECAP" in stdout


def test_the_chart_from_an_archive_travels_in_the_helmchart(
    bed: dict[str, Any], airgap: Path, tmp_path: Path
) -> None:
    """A chart archive (here a minimal chart: the stand-in installs nothing) → chartContent."""
    archive = tmp_path / "metallb-0.16.1.tgz"
    chart = b"apiVersion: v2\nname: metallb\nversion: 0.16.1\n"
    with tarfile.open(archive, "w:gz") as tar:
        info = tarfile.TarInfo("metallb/Chart.yaml")
        info.size = len(chart)
        tar.addfile(info, io.BytesIO(chart))
    inv = inventory(bed, tmp_path / "hosts.yml", cluster_lb_chart_archive=str(archive))
    rc, out = run_bootstrap(inv, airgap, "--no-verify")
    assert rc == 0, out
    content = base64.b64encode(archive.read_bytes()).decode()
    docs = manifest(bed)
    assert docs == lb.render_metallb(POOL, chart_content=content)
    assert lb.validate(docs) == []
    rc, out = run_bootstrap(inv, airgap, "--no-verify")
    assert rc == 0, out
    assert {h: s["changed"] for h, s in recap(out).items()} == {"rpi-1": 0, "rpi-2": 0}, out


def node_labels(bed: dict[str, Any]) -> dict[str, dict[str, str]]:
    got = sh(bed["bed"], "rpi-1", "k3s kubectl get nodes -o json")
    assert got.returncode == 0, got.stderr
    return {n["metadata"]["name"]: n["metadata"]["labels"] for n in json.loads(got.stdout)["items"]}


def config_labels(bed: dict[str, Any], host: str) -> list[str]:
    config = yaml.safe_load(sh(bed["bed"], host, "cat /etc/rancher/k3s/config.yaml").stdout)
    return config.get("node-label", [])


def test_servicelb_answers_only_on_the_nodes_lb_nodes_lists(
    bed: dict[str, Any], airgap: Path, tmp_path: Path
) -> None:
    """metallb → servicelb with cluster_lb_nodes: MetalLB's manifest and the servers'
    `disable: [servicelb]` go; the listed node gets servicelb's enablelb label (config and
    Node), the other none. Listing the other node instead moves the label: k3s never takes
    a node-label away by itself, so pi-k8s removes it from the Node. A name that is not a
    host of the inventory is refused before Ansible."""
    key = lb.ENABLE_LABEL
    path = tmp_path / "hosts.yml"

    def write(nodes: list[str]) -> Path:
        inv = cluster_inventory(
            bed["bed"], ["rpi-1"], ["rpi-2"], cluster_api_vip=VIP, cluster_lb_nodes=nodes
        )
        path.write_text(yaml.safe_dump(inv))
        return path

    rc, out = run_bootstrap(write(["rpi-2", "rpi-9"]), airgap, "--no-verify")
    assert rc == 3 and "cluster_lb_nodes names rpi-9, not a host of the inventory" in out, out

    rc, out = run_bootstrap(write(["rpi-2"]), airgap, "--no-verify")
    assert rc == 0, out
    assert sh(bed["bed"], "rpi-1", f"test -e {MANIFEST}").returncode == 1
    server = yaml.safe_load(sh(bed["bed"], "rpi-1", "cat /etc/rancher/k3s/config.yaml").stdout)
    assert "disable" not in server
    assert f"{key}=true" in config_labels(bed, "rpi-2")
    assert f"{key}=true" not in config_labels(bed, "rpi-1")
    labels = node_labels(bed)
    assert labels["rpi-2"][key] == "true" and key not in labels["rpi-1"]

    rc, out = run_bootstrap(write(["rpi-1"]), airgap, "--no-verify")
    assert rc == 0, out
    assert f"{key}=true" in config_labels(bed, "rpi-1")
    assert f"{key}=true" not in config_labels(bed, "rpi-2")
    labels = node_labels(bed)
    assert labels["rpi-1"][key] == "true" and key not in labels["rpi-2"]

    rc, out = run_bootstrap(path, airgap, "--no-verify")
    assert rc == 0, out
    assert {h: s["changed"] for h, s in recap(out).items()} == {"rpi-1": 0, "rpi-2": 0}, out


def test_reset_removes_keepalived_and_puts_every_host_back(bed: dict[str, Any]) -> None:
    """keepalived is in the testbed image (pi-k8s did not install it): reset stops it, removes
    pi-k8s's configuration and health check, and gives the unit its state from before."""
    record = sh(bed["bed"], "rpi-1", "cat /var/lib/pi-k8s/k3s-vip-record.json")
    assert json.loads(record.stdout)["installed_packages"] == [], record
    assert sh(bed["bed"], "rpi-1", "systemctl is-active keepalived").stdout.strip() == "active"
    start = time.monotonic()
    result = CliRunner(env={"COLUMNS": "200"}).invoke(
        app, ["reset", "-i", str(bed["inventory"]), "--yes"]
    )
    FIGURES["reset 1 server + 1 agent with a VIP (s)"] = time.monotonic() - start
    assert result.exit_code == 0, result.output
    after = snapshots(bed["containers"])
    for host in ("rpi-1", "rpi-2"):
        assert without_markers(after[host]) == without_markers(bed["before"][host]), host
    assert sh(bed["bed"], "rpi-1", "systemctl is-active keepalived").stdout.strip() == "inactive"
    for path in ("/etc/keepalived/keepalived.conf", "/etc/keepalived/pi-k8s-k3s-api-check"):
        assert sh(bed["bed"], "rpi-1", f"test -e {path}").returncode == 1, path
    assert sh(bed["bed"], "rpi-1", "command -v keepalived").returncode == 0  # the image's own
    ip = sh(bed["bed"], "rpi-1", "ip -o -4 addr show").stdout
    assert f" {VIP}/" not in ip


def test_kube_vip_mode_places_its_static_pod_before_k3s_and_no_keepalived(
    bed: dict[str, Any], airgap: Path, tmp_path: Path
) -> None:
    """api_vip_mode kube-vip, on the host the reset put back: one server, no agent (kube-vip
    cannot run here: the stand-in runs no pods, so nothing would hold the VIP an agent
    joins through). The static Pod is the one pi_k8s.kubevip renders, valid against
    Kubernetes' Pod schema; the image archive is where k3s imports images; keepalived is
    neither configured nor started; a second run changes nothing."""
    archive = tmp_path / "kube-vip-images.tar"
    archive.write_bytes(b"stand-in for kube-vip's image archive (k3s imports it at start)\n")
    inv = cluster_inventory(
        bed["bed"],
        ["rpi-1"],
        [],
        cluster_api_vip=VIP,
        cluster_api_vip_mode="kube-vip",
        cluster_api_vip_image_archive=str(archive),
    )
    path = tmp_path / "hosts.yml"
    path.write_text(yaml.safe_dump(inv))
    rc, out = run_bootstrap(path, airgap, "--no-verify")
    assert rc == 0, out
    got = sh(bed["bed"], "rpi-1", "cat /var/lib/rancher/k3s/agent/pod-manifests/kube-vip.yaml")
    pod = yaml.safe_load(got.stdout)
    assert pod == kubevip.render_static_pod(VIP, "eth0")
    assert kubevip.validate(pod) == []
    image = sh(bed["bed"], "rpi-1", "cat /var/lib/rancher/k3s/agent/images/kube-vip-images.tar")
    assert image.stdout.encode() == archive.read_bytes()
    assert sh(bed["bed"], "rpi-1", "test -e /etc/keepalived/keepalived.conf").returncode == 1
    assert sh(bed["bed"], "rpi-1", "systemctl is-active keepalived").stdout.strip() == "inactive"
    assert sh(bed["bed"], "rpi-1", "test -e /var/lib/pi-k8s/k3s-vip-record.json").returncode == 1
    server = yaml.safe_load(sh(bed["bed"], "rpi-1", "cat /etc/rancher/k3s/config.yaml").stdout)
    assert VIP in server["tls-san"]
    rc, out = run_bootstrap(path, airgap, "--no-verify")
    assert rc == 0, out
    assert {h: s["changed"] for h, s in recap(out).items()} == {"rpi-1": 0}, out


def test_figures() -> None:
    """Print what was measured (pytest -s); nothing here is asserted on time."""
    for name, seconds in FIGURES.items():
        print(f"FIGURE {name}: {seconds:.1f}")
