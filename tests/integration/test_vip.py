"""A real API VIP with keepalived on the testbed, failover proven (issue 15 §1).

Four Pi hosts (rpi-1..3 servers; rpi-4, a 1 GB board, the agent) and one non-Pi host on
10.213.106.0/24 (or the /24 in $PI_K8S_TEST_VIP_SUBNET, for a helper given another one),
with the k3s stand-in (tests/standin) and Debian's real keepalived (in the testbed image).
The VIP is the subnet's .250. The containers are privileged (as k3s's own CI
runs k3s), so keepalived may add the VIP to eth0; VRRP adverts go by multicast over the
podman bridge.

The bad inputs run first, on fresh hosts: each is refused before any host is touched (a
snapshot of every host before and after is equal, and no keepalived configuration appears).
Then one bootstrap, and the failover checks on that cluster, in file order. Times are
measured and printed (run with -s to see them), never asserted beyond generous bounds that
mean "it did not happen at all".

Two pool inputs are refused here too (a pool with servicelb, a pool overlapping the VIP);
MetalLB's placement and a reset of a VIP cluster are in tests/integration/test_lb.py, as is
kube-vip's static Pod (kube-vip itself cannot run here: the stand-in runs no pods).
"""

from __future__ import annotations

import base64
import hashlib
import http.client
import ipaddress
import json
import os
import ssl
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from pi_k8s import testbed as tb
from pi_k8s.cli import app
from tests.conftest import host_sh as sh
from tests.conftest import make_testbed, run_bootstrap
from tests.host_snapshot import snapshots
from tests.integration.test_bootstrap import recap
from tests.testbed_inventory import cluster_inventory

pytestmark = pytest.mark.testbed

NAME = os.environ.get("PI_K8S_TEST_VIP_NAME", "vip15")  # the testbed and cluster name
# The testbed's /24; every address below derives from it.
SUBNET = os.environ.get("PI_K8S_TEST_VIP_SUBNET", "10.213.106.0/24")
NET = ipaddress.IPv4Network(SUBNET)
VIP = str(NET[250])
POOL_CIDR = f"{NET[240]}/29"
POOL_RANGE = f"{NET[245]}-{NET[254]}"
# An address of the next /24: outside the servers' subnet.
OUTSIDE = str(NET[250] + 256)
SERVERS = ["rpi-1", "rpi-2", "rpi-3"]
AGENT = "rpi-4"
# Bounds that only say "it never happened"; the measured figures are printed.
MOVE_BOUND_S = 60.0
FIGURES: dict[str, float] = {}


@pytest.fixture(scope="module")
def bed(own_state_dir: Path) -> Iterator[tb.Testbed]:
    yield from make_testbed(NAME, SUBNET, nodes=4, others=1)


def inventory(bed: tb.Testbed, path: Path, vip: str, **extra: object) -> Path:
    inv = cluster_inventory(bed, SERVERS, [AGENT], cluster_api_vip=vip, **extra)
    path.write_text(yaml.safe_dump(inv))
    return path


def address(bed: tb.Testbed, host: str) -> str:
    return next(h.ip for h in bed.hosts if h.name == host)


def holders(bed: tb.Testbed) -> list[str]:
    """The servers whose eth0 carries the VIP right now."""
    return [s for s in SERVERS if f" {VIP}/" in sh(bed, s, "ip -o -4 addr show").stdout]


def wait_for_holder(bed: tb.Testbed, not_on: str | None = None) -> tuple[str, float]:
    """(the one server holding the VIP, other than ``not_on``, seconds it took)."""
    start = time.monotonic()
    while time.monotonic() - start < MOVE_BOUND_S:
        now = holders(bed)
        if len(now) == 1 and now[0] != not_on:
            return now[0], time.monotonic() - start
        time.sleep(0.1)
    raise AssertionError(f"after {MOVE_BOUND_S} s the VIP is held by {holders(bed)}")


class Kubeconfig:
    """The kubeconfig bootstrap wrote: its server, CA and client certificate, as files."""

    def __init__(self, path: Path) -> None:
        config = yaml.safe_load(path.read_text())
        self.server = config["clusters"][0]["cluster"]["server"]
        self.dir = tempfile.TemporaryDirectory()
        d = Path(self.dir.name)
        user = config["users"][0]["user"]
        (d / "ca.crt").write_bytes(
            base64.b64decode(config["clusters"][0]["cluster"]["certificate-authority-data"])
        )
        (d / "c.crt").write_bytes(base64.b64decode(user["client-certificate-data"]))
        (d / "c.key").write_bytes(base64.b64decode(user["client-key-data"]))
        self.context = ssl.create_default_context(cafile=str(d / "ca.crt"))
        self.context.load_cert_chain(str(d / "c.crt"), str(d / "c.key"))
        assert self.context.check_hostname and self.context.verify_mode == ssl.CERT_REQUIRED

    def nodes(self) -> dict[str, Any]:
        """GET /api/v1/nodes through the kubeconfig's server, TLS verified (host name too)."""
        conn = http.client.HTTPSConnection(VIP, 6443, timeout=5, context=self.context)
        try:
            conn.request("GET", "/api/v1/nodes")
            response = conn.getresponse()
            body = response.read()
        finally:
            conn.close()
        assert response.status == 200, body[:200]
        return {n["metadata"]["name"]: n for n in json.loads(body)["items"]}


def ready(node: dict[str, Any]) -> tuple[str, str]:
    cond = next(c for c in node["status"]["conditions"] if c["type"] == "Ready")
    return cond["status"], cond["lastHeartbeatTime"]


def nodes_through_vip(kube: Kubeconfig, within: float = MOVE_BOUND_S) -> tuple[dict, float]:
    start, last = time.monotonic(), None
    while time.monotonic() - start < within:
        try:
            return kube.nodes(), time.monotonic() - start
        except (OSError, AssertionError) as exc:
            last = exc
            time.sleep(0.2)
    raise AssertionError(f"the API never answered through {VIP}: {last}")


# ------------------------------------------------------------------ bad input, fresh hosts

BAD: dict[str, tuple[Any, dict[str, str], int, str]] = {
    # Refused by the CLI from the inventory alone (exit 3), Ansible never starts.
    "vip_is_a_node_address": (
        lambda bed: address(bed, "rpi-2"),
        {},
        3,
        "is the address of rpi-2",
    ),
    "pool_with_servicelb": (
        lambda bed: VIP,
        {"cluster_lb_pool": POOL_CIDR},
        3,
        f"cluster_lb_pool {POOL_CIDR} is set but cluster_lb is servicelb",
    ),
    "pool_overlapping_the_vip": (
        lambda bed: VIP,
        {"cluster_lb": "metallb", "cluster_lb_pool": POOL_RANGE},
        3,
        f"cluster_lb_pool {POOL_RANGE} overlaps the API VIP {VIP}",
    ),
    # Refused by site.yml's first play on the servers (exit 4), which changes nothing.
    "vip_outside_the_subnet": (
        lambda bed: OUTSIDE,
        {},
        4,
        f"is outside rpi-1's subnet {SUBNET} (eth0)",
    ),
    "vip_already_in_use": (
        lambda bed: address(bed, "other-1"),
        {},
        4,
        "is already in use on the LAN (ARP reply from",
    ),
}


@pytest.mark.parametrize("case", list(BAD))
def test_a_bad_vip_is_refused_before_any_host_is_touched(
    bed: tb.Testbed, airgap: Path, tmp_path: Path, case: str
) -> None:
    vip_of, extra, code, message = BAD[case]
    containers = {h.name: h.container for h in bed.hosts if h.name != "other-1"}
    before = snapshots(containers)
    start = time.monotonic()
    inv = inventory(bed, tmp_path / "hosts.yml", vip_of(bed), **extra)
    rc, out = run_bootstrap(inv, airgap)
    FIGURES[f"refusal {case} (s)"] = time.monotonic() - start
    assert rc == code, out
    assert message in " ".join(out.split()), out
    assert snapshots(containers) == before
    for host in containers:
        assert sh(bed, host, "test -e /etc/keepalived/keepalived.conf").returncode == 1, host


# ------------------------------------------------------------------ the cluster with a VIP


@pytest.fixture(scope="module")
def cluster(
    bed: tb.Testbed,
    airgap: Path,
    controller_home: Path,
    tmp_path_factory: pytest.TempPathFactory,
    own_state_dir: Path,
) -> dict[str, Any]:
    inv = inventory(bed, tmp_path_factory.mktemp("vip") / "hosts.yml", VIP)
    start = time.monotonic()
    rc, out = run_bootstrap(inv, airgap)
    FIGURES["bootstrap 3 servers + 1 agent with the VIP, verify included (s)"] = (
        time.monotonic() - start
    )
    assert rc == 0, out
    return {
        "inventory": inv,
        "output": out,
        "kubeconfig": controller_home / ".kube" / f"{NAME}.yaml",
        "state": own_state_dir,
    }


def test_the_controller_reaches_the_api_through_the_vip_with_tls_verified(
    bed: tb.Testbed, cluster: dict[str, Any]
) -> None:
    kube = Kubeconfig(cluster["kubeconfig"])
    assert kube.server == f"https://{VIP}:6443"
    nodes = kube.nodes()
    assert set(nodes) == {*SERVERS, AGENT}
    assert all(ready(n)[0] == "True" for n in nodes.values())
    record = json.loads((cluster["state"] / "clusters" / NAME / "cluster.json").read_text())
    assert record["api_endpoint"] == f"https://{VIP}:6443"
    # The stand-in's own kubectl on the agent, with --server: TLS checked against the CA.
    kubeconfig = "/run/vip-kubeconfig.yaml"
    text = cluster["kubeconfig"].read_text().replace("'", "'\\''")
    assert sh(bed, AGENT, f"umask 077; printf '%s' '{text}' > {kubeconfig}").returncode == 0
    got = sh(
        bed, AGENT, f"k3s kubectl --kubeconfig {kubeconfig} --server https://{VIP}:6443 get nodes"
    )
    assert got.returncode == 0 and AGENT in got.stdout, got
    # --server really is used: a host where no API listens fails.
    other = address(bed, "other-1")  # not a server: nothing listens, the call must fail
    wrong = sh(
        bed, AGENT, f"k3s kubectl --kubeconfig {kubeconfig} -s https://{other}:6443 get nodes"
    )
    assert wrong.returncode != 0
    sh(bed, AGENT, f"rm -f {kubeconfig}")


def test_the_vip_is_in_every_servers_tls_san_and_the_agent_joins_through_it(
    bed: tb.Testbed, cluster: dict[str, Any]
) -> None:
    for server in SERVERS:
        config = yaml.safe_load(sh(bed, server, "cat /etc/rancher/k3s/config.yaml").stdout)
        assert VIP in config["tls-san"], server
        conf = sh(bed, server, "cat /etc/keepalived/keepalived.conf").stdout
        assert f"{VIP}/24 dev eth0" in conf and "interface eth0" in conf, server
        assert sh(bed, server, "systemctl is-active keepalived").stdout.strip() == "active"
    # virtual_router_id and the VRRP password derive from the cluster name (README).
    digest = hashlib.sha256(NAME.encode()).hexdigest()
    conf = sh(bed, "rpi-1", "cat /etc/keepalived/keepalived.conf").stdout
    assert f"virtual_router_id {int(digest[:8], 16) % 255 + 1}\n" in conf
    auth = hashlib.sha256(f"pi-k8s-vrrp:{NAME}".encode()).hexdigest()[:8]
    assert f"auth_pass {auth}\n" in conf and "unicast_peer" not in conf
    agent = yaml.safe_load(sh(bed, AGENT, "cat /etc/rancher/k3s/config.yaml").stdout)
    assert agent["server"] == f"https://{VIP}:6443"
    assert len(holders(bed)) == 1


def test_verify_names_the_one_holder_and_the_vip_answers_everywhere(
    cluster: dict[str, Any], bed: tb.Testbed
) -> None:
    out = cluster["output"]
    holder = holders(bed)
    assert len(holder) == 1
    assert f"held by {holder[0]}" in out, out
    assert out.count(f"https://{VIP}:6443/ping: pong") == len(SERVERS) + 2, (
        out
    )  # + agent, controller


def test_failover_when_k3s_stops_on_the_holder(bed: tb.Testbed, cluster: dict[str, Any]) -> None:
    kube = Kubeconfig(cluster["kubeconfig"])
    old = holders(bed)[0]
    _, before = ready(kube.nodes()[AGENT])
    assert sh(bed, old, "systemctl stop k3s").returncode == 0
    new, moved = wait_for_holder(bed, not_on=old)
    FIGURES["VIP moved after `systemctl stop k3s` on the holder (s)"] = moved
    _, answered = nodes_through_vip(kube)
    FIGURES["API answered through the VIP again, after the move (s)"] = answered
    assert new != old and new in SERVERS
    # The agent keeps heartbeating through the VIP while the old holder is down: its Ready
    # heartbeat advances and it stays Ready.
    deadline = time.monotonic() + MOVE_BOUND_S
    while time.monotonic() < deadline:
        status, beat = ready(kube.nodes()[AGENT])
        if beat > before:
            break
        time.sleep(1)
    assert status == "True" and beat > before, (status, beat, before)
    cluster["stopped"] = old


def test_k3s_back_then_verify_passes(bed: tb.Testbed, cluster: dict[str, Any]) -> None:
    old = cluster.get("stopped", "rpi-1")
    assert sh(bed, old, "systemctl start k3s").returncode == 0
    # Preemption (k3s_vip_preempt, the default): the first server takes the VIP back once
    # its API answers again.
    start = time.monotonic()
    while time.monotonic() - start < MOVE_BOUND_S and holders(bed) != ["rpi-1"]:
        time.sleep(0.2)
    FIGURES["VIP back on rpi-1 after k3s started again (s)"] = time.monotonic() - start
    assert holders(bed) == ["rpi-1"]
    result = CliRunner(env={"COLUMNS": "200"}).invoke(
        app, ["verify", "-i", str(cluster["inventory"]), "--skip-workloads"]
    )
    assert result.exit_code == 0, result.output
    assert "held by rpi-1" in result.output


def test_failover_when_keepalived_stops_on_the_holder(
    bed: tb.Testbed, cluster: dict[str, Any]
) -> None:
    old = holders(bed)[0]
    assert sh(bed, old, "systemctl stop keepalived").returncode == 0
    try:
        new, moved = wait_for_holder(bed, not_on=old)
        FIGURES["VIP moved after `systemctl stop keepalived` on the holder (s)"] = moved
        assert new != old
        nodes_through_vip(Kubeconfig(cluster["kubeconfig"]))
    finally:
        sh(bed, old, "systemctl start keepalived")


def test_a_second_bootstrap_changes_nothing(
    bed: tb.Testbed, cluster: dict[str, Any], airgap: Path
) -> None:
    wait_for_holder(bed)
    rc, out = run_bootstrap(cluster["inventory"], airgap, "--no-verify")
    assert rc == 0, out
    assert len(holders(bed)) == 1
    changed = {host: stats["changed"] for host, stats in recap(out).items()}
    assert changed == {h: 0 for h in [*SERVERS, AGENT]}, out


def test_unicast_adverts_when_asked(bed: tb.Testbed, cluster: dict[str, Any], airgap: Path) -> None:
    """cluster_api_vip_unicast: true → adverts to the other servers' addresses; the VIP
    still moves when keepalived stops on its holder."""
    inv = inventory(
        bed, cluster["inventory"].parent / "unicast.yml", VIP, cluster_api_vip_unicast=True
    )
    start = time.monotonic()
    rc, out = run_bootstrap(inv, airgap, "--no-verify")
    FIGURES["bootstrap again with cluster_api_vip_unicast: true (s)"] = time.monotonic() - start
    assert rc == 0, out
    for server in SERVERS:
        conf = sh(bed, server, "cat /etc/keepalived/keepalived.conf").stdout
        peers = conf.split("unicast_peer {", 1)[1].split("}", 1)[0].split()
        assert f"unicast_src_ip {address(bed, server)}" in conf, server
        assert sorted(peers) == sorted(address(bed, s) for s in SERVERS if s != server)
    old, _ = wait_for_holder(bed)
    assert sh(bed, old, "systemctl stop keepalived").returncode == 0
    try:
        new, moved = wait_for_holder(bed, not_on=old)
        FIGURES["unicast: VIP moved after `systemctl stop keepalived` on the holder (s)"] = moved
        assert new != old
    finally:
        sh(bed, old, "systemctl start keepalived")


def test_figures() -> None:
    """Print what was measured (pytest -s); nothing here is asserted on time."""
    for name, seconds in FIGURES.items():
        print(f"FIGURE {name}: {seconds:.1f}")
