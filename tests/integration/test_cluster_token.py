"""The cluster token is never lost, replaced or exposed; verify checks the k3s binary.

A live testbed cluster (1 server + 1 agent, the k3s stand-in over the airgap path; the
stand-in keeps k3s's token file `K10<CA hash>::server:<secret>` and refuses to restart
with another token, see tests/standin/README.md). Tests run in file order on one cluster:

- bootstrap with `--k3s-version` other than the inventory's pin: verify expects the flag's;
- verify lists "k3s checksum" and fails it on a host whose binary changed after install;
- the controller's token file lost: bootstrap adopts the cluster's and restarts nothing;
- a controller token that differs: bootstrap refuses (exit 4) and restarts nothing;
- neither token is in any output, artifact or journal.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from pi_k8s import paths
from pi_k8s import testbed as tb
from pi_k8s import verify as v
from tests.conftest import STANDIN_VERSION, make_testbed, run_bootstrap
from tests.conftest import host_sh as sh
from tests.testbed_inventory import cluster_inventory

pytestmark = pytest.mark.testbed

NAME = "w11d"
# The inventory pins an older release; every bootstrap here passes --k3s-version.
PINNED = "v1.31.3+k3s1"
HOSTS = {"rpi-1": "k3s", "rpi-2": "k3s-agent"}  # host → its k3s unit
WATCHED = (
    "/etc/rancher/k3s/config.yaml",
    "/etc/systemd/system/k3s.service.env",
    "/etc/systemd/system/k3s-agent.service.env",
    "/etc/systemd/system/k3s.service",
    "/etc/systemd/system/k3s-agent.service",
    "/var/lib/rancher/k3s/server/token",
)
OUTPUTS: list[str] = []  # every bootstrap's output, searched for the tokens at the end
TOKENS: list[str] = []  # every token a test wrote or read


def bootstrap(inventory: Path, airgap: Path, *extra: str) -> tuple[int, str]:
    code, output = run_bootstrap(inventory, airgap, *extra)
    OUTPUTS.append(output)
    return code, output


def host_state(bed: tb.Testbed) -> dict[str, str]:
    """What a restart or a rewrite would change: each unit's PID and start time, and files."""
    state = {}
    for host, unit in HOSTS.items():
        state[f"{host} {unit}"] = sh(
            bed, host, f"systemctl show {unit} -p MainPID -p ActiveEnterTimestamp -p NRestarts"
        ).stdout
        files = " ".join(WATCHED)
        state[f"{host} files"] = sh(bed, host, f"sha256sum {files} 2>/dev/null").stdout
    assert all("MainPID=0" not in s for k, s in state.items() if "files" not in k), state
    return state


def ready_nodes(bed: tb.Testbed) -> dict[str, str]:
    nodes = json.loads(sh(bed, "rpi-1", "k3s kubectl get nodes -o json").stdout)["items"]
    return {
        n["metadata"]["name"]: next(
            c["status"] for c in n["status"]["conditions"] if c["type"] == "Ready"
        )
        for n in nodes
    }


def token_file() -> Path:
    return paths.state_dir() / "clusters" / NAME / "token"


@pytest.fixture(scope="module")
def cluster(
    tmp_path_factory: pytest.TempPathFactory, controller_home: Path, airgap: Path
) -> Iterator[dict]:
    for bed in make_testbed(NAME, "10.213.80.0/24", nodes=2):
        inv = tmp_path_factory.mktemp("inv") / "hosts.yml"
        inv.write_text(
            yaml.safe_dump(cluster_inventory(bed, ["rpi-1"], ["rpi-2"], cluster_k3s_version=PINNED))
        )
        code, output = bootstrap(inv, airgap)
        yield {"bed": bed, "inventory": inv, "code": code, "output": output, "airgap": airgap}


def test_bootstrap_with_k3s_version_makes_verify_expect_that_version(cluster: dict) -> None:
    assert cluster["code"] == 0, cluster["output"]
    assert ", 0 failed," in cluster["output"]  # verify ran and expected STANDIN_VERSION
    assert f"want {PINNED}" not in cluster["output"]
    # the new cluster's token: made on the controller, private, in a private directory
    assert token_file().stat().st_mode & 0o777 == 0o600
    assert token_file().parent.stat().st_mode & 0o777 == 0o700
    for host in HOSTS:
        assert STANDIN_VERSION in sh(cluster["bed"], host, "/usr/local/bin/k3s --version").stdout


def _checksums(inventory: Path) -> dict[str, v.CheckResult]:
    report = v.verify(inventory, workloads=False, version=STANDIN_VERSION)
    return {r.host: r for r in report.results if r.name == "k3s checksum"}


def test_verify_lists_the_k3s_checksum_and_it_passes(cluster: dict) -> None:
    record = sh(cluster["bed"], "rpi-1", "stat -c %a /var/lib/pi-k8s/k3s.sha256").stdout
    assert record.strip() == "644"
    assert sh(cluster["bed"], "rpi-1", "sha256sum -c /var/lib/pi-k8s/k3s.sha256").returncode == 0
    checks = _checksums(cluster["inventory"])
    assert {h: r.status for h, r in checks.items()} == {"rpi-1": v.PASS, "rpi-2": v.PASS}


def test_a_binary_changed_after_install_fails_the_k3s_checksum(cluster: dict) -> None:
    bed = cluster["bed"]
    backup = "/usr/local/bin/k3s.w11d-orig"
    assert sh(bed, "rpi-2", f"cp -p /usr/local/bin/k3s {backup}").returncode == 0
    try:
        assert sh(bed, "rpi-2", "printf x >> /usr/local/bin/k3s").returncode == 0
        checks = _checksums(cluster["inventory"])
        assert {h: r.status for h, r in checks.items()} == {"rpi-1": v.PASS, "rpi-2": v.FAIL}
        assert "changed after pi-k8s installed it" in checks["rpi-2"].hint
        assert "re-run `pi-k8s bootstrap`" in checks["rpi-2"].hint
    finally:
        assert sh(bed, "rpi-2", f"mv {backup} /usr/local/bin/k3s").returncode == 0
    assert _checksums(cluster["inventory"])["rpi-2"].status == v.PASS


def test_a_lost_controller_token_is_adopted_and_no_server_restarts(cluster: dict) -> None:
    bed = cluster["bed"]
    mine = token_file().read_text()
    TOKENS.append(mine.strip())
    on_server = sh(bed, "rpi-1", "cat /var/lib/rancher/k3s/server/token").stdout.strip()
    assert on_server.endswith("::server:" + mine.strip())  # k3s keeps the full form
    TOKENS.append(on_server)
    before = host_state(bed)
    token_file().unlink()

    code, output = bootstrap(cluster["inventory"], cluster["airgap"])
    assert code == 0, output
    assert token_file().read_text() == mine  # the cluster's secret, as pi-k8s made it
    assert token_file().stat().st_mode & 0o777 == 0o600
    assert host_state(bed) == before  # no restart, no file rewritten
    assert ready_nodes(bed) == {"rpi-1": "True", "rpi-2": "True"}


def test_a_controller_token_that_differs_is_refused_and_nothing_restarts(cluster: dict) -> None:
    bed = cluster["bed"]
    mine = token_file().read_text()
    other = secrets.token_hex(32)
    TOKENS.append(other)
    before = host_state(bed)
    token_file().write_text(other + "\n")
    try:
        code, output = bootstrap(cluster["inventory"], cluster["airgap"])
        # A playbook task found it (the servers' token is on the hosts): exit 4.
        assert code == 4, output
        assert f"{token_file()} differs from the token the cluster runs with (on rpi-1)" in (output)
        assert "Remove that file to adopt the cluster's token" in output
        assert token_file().read_text() == other + "\n"  # the user's file is left alone
        assert host_state(bed) == before
        assert ready_nodes(bed) == {"rpi-1": "True", "rpi-2": "True"}
    finally:
        token_file().write_text(mine)


def test_no_token_in_any_output_artifact_or_journal(cluster: dict) -> None:
    assert len(TOKENS) == 3 and all(len(t) >= 32 for t in TOKENS)
    for output in OUTPUTS:
        assert not any(t in output for t in TOKENS)
    leaks = []
    for f in (paths.state_dir() / "runs").rglob("*"):
        if f.is_file():
            data = f.read_bytes()
            leaks += [f"{f}: token {i}" for i, t in enumerate(TOKENS) if t.encode() in data]
    assert leaks == []
    for host in HOSTS:
        journal = sh(cluster["bed"], host, "journalctl --no-pager -o cat").stdout
        assert journal and not any(t in journal for t in TOKENS)
