"""`pi-k8s backup` and `pi-k8s restore` on a live testbed cluster (issue 14, part 2).

3 servers (rpi-1..3, embedded etcd) + 1 agent (rpi-4, the 1 GB board) bootstrapped with
the stand-in. A backup takes an etcd snapshot on the first server and keeps it with the
token and its sha256 under clusters/<name>/backups/ (0600). Tampered, foreign or
unconfirmed snapshots are refused before k3s stops anywhere. Then the cluster's state
changes (rpi-4 cordoned) and the restore brings the snapshot's state back (rpi-4
schedulable), with every node Ready and the three etcd members rejoined. Last, rpi-5
alone on SQLite (cluster bk14s): its server/db and token are backed up and restored.
Tests run in file order, with a state directory of their own. Each phase's wall time is
printed (pytest -s), never asserted.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import stat
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from pi_k8s import clusters, runner
from pi_k8s import testbed as tb
from tests.conftest import cli, make_testbed, run_bootstrap
from tests.conftest import host_sh as sh
from tests.testbed_inventory import cluster_inventory

pytestmark = pytest.mark.testbed

NAME = "bk14"
SERVERS = ["rpi-1", "rpi-2", "rpi-3"]
AGENT = "rpi-4"
TIMES: dict[str, float] = {}
# GET /db/info from the server itself (k3s answers loopback clients without credentials).
DB_INFO = (
    'python3 -c \'import ssl,urllib.request as u;print(u.urlopen("https://127.0.0.1:6443/db/info",'
    "context=ssl._create_unverified_context()).read().decode())'"
)


def nodes(bed: tb.Testbed) -> dict[str, dict]:
    items = json.loads(sh(bed, "rpi-1", "k3s kubectl get nodes -o json").stdout)["items"]
    return {n["metadata"]["name"]: n for n in items}


def ready(node: dict) -> str:
    return next(c["status"] for c in node["status"]["conditions"] if c["type"] == "Ready")


def main_pids(bed: tb.Testbed) -> dict[str, str]:
    units = {**{s: "k3s" for s in SERVERS}, AGENT: "k3s-agent"}
    return {h: sh(bed, h, f"systemctl show {u} -p MainPID").stdout for h, u in units.items()}


def leaked_into_runs(state: Path, secret: str) -> list[str]:
    """The files of ansible-runner's artifacts that hold the token's secret."""
    return [
        str(p)
        for p in (state / "runs").rglob("*")
        if p.is_file() and secret in p.read_text(errors="replace")
    ]


def runs() -> list[tuple[str, bool]]:
    return [(r.command, r.ok) for r in clusters.load(NAME).runs]


@pytest.fixture(scope="module")
def cluster(
    own_state_dir: Path,
    tmp_path_factory: pytest.TempPathFactory,
    controller_home: Path,
    airgap: Path,
) -> Iterator[dict]:
    start = time.monotonic()
    for bed in make_testbed(NAME, "10.213.105.0/24", nodes=5):
        TIMES["testbed up"] = time.monotonic() - start
        inv = tmp_path_factory.mktemp("inv") / "hosts.yml"
        inv.write_text(yaml.safe_dump(cluster_inventory(bed, SERVERS, [AGENT])))
        start = time.monotonic()
        code, output = run_bootstrap(inv, airgap, "--no-verify")
        TIMES["bootstrap"] = time.monotonic() - start
        yield {"bed": bed, "code": code, "output": output, "state": own_state_dir}
    print("\nwall time: " + ", ".join(f"{k} {v:.0f} s" for k, v in TIMES.items()))


def test_bootstrap_three_servers_and_an_agent(cluster: dict) -> None:
    assert cluster["code"] == 0, cluster["output"]
    assert {n: ready(v) for n, v in nodes(cluster["bed"]).items()} == dict.fromkeys(
        [*SERVERS, AGENT], "True"
    )


def test_backup_keeps_the_snapshot_with_its_token_and_sha256(cluster: dict) -> None:
    bed = cluster["bed"]
    start = time.monotonic()
    code, out = cli("backup", "--json")
    TIMES["backup"] = time.monotonic() - start
    assert code == 0, out
    backup = json.loads(out)["backup"]
    assert backup["cluster"] == NAME and backup["datastore"] == "etcd"
    assert backup["server"] == "rpi-1"
    assert backup["name"].startswith("pi-k8s-rpi-1-")  # k3s's <name>-<node>-<unix time>
    directory = clusters.cluster_dir(NAME) / "backups" / backup["name"]
    assert Path(backup["directory"]) == directory
    assert stat.S_IMODE(directory.stat().st_mode) == 0o700
    files = sorted(p.name for p in directory.iterdir())
    assert files == sorted([backup["file"], "backup.json", "token"])
    for name in files:
        assert stat.S_IMODE((directory / name).stat().st_mode) == 0o600, name
    snapshot = directory / backup["file"]
    assert hashlib.sha256(snapshot.read_bytes()).hexdigest() == backup["sha256"]
    assert backup["size"] == snapshot.stat().st_size
    # The snapshot holds the cluster state; the token is the server's token file.
    assert set(json.loads(snapshot.read_text())["state"]["nodes"]) == {*SERVERS, AGENT}
    server_token = sh(bed, "rpi-1", "cat /var/lib/rancher/k3s/server/token").stdout.strip()
    kept = (directory / "token").read_text().strip()
    assert hashlib.sha256(kept.encode()).digest() == hashlib.sha256(server_token.encode()).digest()
    # The copy on the server is deleted (`k3s etcd-snapshot delete`); the token is in no log.
    listing = sh(bed, "rpi-1", "k3s etcd-snapshot ls")
    assert listing.returncode == 0 and backup["name"] not in listing.stdout
    assert leaked_into_runs(cluster["state"], server_token.rsplit(":", 1)[-1]) == []
    code, out = cli("backup", "list", "--json")
    assert code == 0, out
    assert [b["name"] for b in json.loads(out)["backups"]] == [backup["name"]]
    assert runs()[-1] == ("backup", True)


def _copy(name: str, suffix: str) -> Path:
    """A copy of a backup under another name, to tamper with."""
    root = clusters.cluster_dir(NAME) / "backups"
    target = root / f"{name}-{suffix}"
    shutil.copytree(root / name, target)
    return target


def _edit(directory: Path, **changes: object) -> None:
    meta = directory / "backup.json"
    meta.write_text(json.dumps({**json.loads(meta.read_text()), **changes}))


def test_a_changed_sha256_or_a_foreign_snapshot_is_refused_before_anything_stops(
    cluster: dict,
) -> None:
    bed = cluster["bed"]
    (name,) = [b["name"] for b in json.loads(cli("backup", "list", "--json")[1])["backups"]]
    before_pids, before_runs = main_pids(bed), runs()
    tampered = _copy(name, "sha")
    meta = json.loads((tampered / "backup.json").read_text())
    _edit(tampered, sha256=("0" if meta["sha256"][0] != "0" else "1") + meta["sha256"][1:])
    code, out = cli("restore", tampered.name, "--yes")
    assert code == 3, out
    assert "sha256" in out and "nothing was stopped" in out
    foreign = _copy(name, "other")
    _edit(foreign, cluster="elsewhere")
    code, out = cli("restore", foreign.name, "--yes")
    assert code == 3 and "of cluster 'elsewhere'" in out, out
    token = _copy(name, "token")
    (token / "token").write_text("K10abc::server:not-this-clusters-secret\n")
    code, out = cli("restore", token.name, "--yes")
    assert code == 3 and "another cluster's snapshot" in out, out
    code, out = cli("restore", name)  # no terminal to confirm on
    assert code == 2 and "--yes" in out, out
    code, out = cli("restore", "no-such-backup", "--yes")
    assert code == 2 and "backup list" in out, out
    # Plain Ansible users get the same check from restore.yml's first play.
    good = clusters.cluster_dir(NAME) / "backups" / name
    run = runner.run_playbook(
        "restore.yml",
        inventory=clusters.load(NAME).inventory,
        extravars={
            "restore_snapshot": str(good / meta["file"]),
            "restore_token_file": str(good / "token"),
            "restore_datastore": "etcd",
            "restore_sha256": "0" * 64,
        },
    )
    assert not run.ok
    assert any("Nothing was stopped" in f.message for f in run.failures), run.failures
    assert set(run.hosts) == {*SERVERS, AGENT}
    assert all(s.changed == 0 for s in run.hosts.values())
    for directory in (tampered, foreign, token):
        shutil.rmtree(directory)
    assert main_pids(bed) == before_pids  # k3s kept running everywhere
    assert runs() == before_runs


def test_restore_brings_back_the_snapshots_state_and_every_node_is_ready(cluster: dict) -> None:
    bed = cluster["bed"]
    (name,) = [b["name"] for b in json.loads(cli("backup", "list", "--json")[1])["backups"]]
    cordon = sh(bed, "rpi-1", f"k3s kubectl cordon {AGENT}")
    assert cordon.returncode == 0, cordon.stderr
    assert nodes(bed)[AGENT]["spec"].get("unschedulable") is True
    code, out = cli("restore", name, "--check", "--json")
    assert code == 0, out
    plan = json.loads(out)["plan"]
    assert (plan["first_server"], plan["other_servers"], plan["agents"]) == (
        "rpi-1",
        ["rpi-2", "rpi-3"],
        [AGENT],
    )
    assert nodes(bed)[AGENT]["spec"].get("unschedulable") is True  # --check changed nothing
    start = time.monotonic()
    code, out = cli("restore", name, "--yes")
    TIMES["restore"] = time.monotonic() - start
    assert code == 0, out
    after = nodes(bed)
    assert {n: ready(v) for n, v in after.items()} == dict.fromkeys([*SERVERS, AGENT], "True")
    assert not after[AGENT]["spec"].get("unschedulable")  # the snapshot's state again
    members = json.loads(sh(bed, "rpi-1", DB_INFO).stdout or "{}").get("members", [])
    assert sorted(m["name"].rsplit("-", 1)[0] for m in members) == SERVERS
    log = sh(bed, "rpi-1", "ls /var/lib/rancher/k3s/server/db").stdout.split()
    assert any(entry.startswith("etcd-old-") for entry in log)  # k3s moved the old data dir
    assert runs()[-1] == ("restore", True)
    secret = sh(bed, "rpi-1", "cat /var/lib/rancher/k3s/server/token").stdout.strip()
    assert leaked_into_runs(cluster["state"], secret.rsplit(":", 1)[-1]) == []


def test_keep_removes_the_oldest_backups(cluster: dict) -> None:
    (old,) = [b["name"] for b in json.loads(cli("backup", "list", "--json")[1])["backups"]]
    time.sleep(1)  # k3s's file names have a one-second resolution
    code, out = cli("backup", "--keep", "1", "--json")
    assert code == 0, out
    result = json.loads(out)
    assert result["pruned"] == [old]
    listed = [b["name"] for b in json.loads(cli("backup", "list", "--json")[1])["backups"]]
    assert listed == [result["backup"]["name"]]
    assert not (clusters.cluster_dir(NAME) / "backups" / old).exists()
    code, out = cli("backup", "--keep", "0")
    assert code == 2 and "--keep 0" in out, out


# ------------------------------------------------------------ a single server on SQLite
SQLITE = "bk14s"


@pytest.fixture(scope="module")
def sqlite_cluster(cluster: dict, tmp_path_factory: pytest.TempPathFactory, airgap: Path) -> dict:
    """rpi-5 alone, on SQLite (k3s_server_embedded_etcd: false), as cluster bk14s."""
    bed = cluster["bed"]
    inv = tmp_path_factory.mktemp("inv-sqlite") / "hosts.yml"
    layout = cluster_inventory(bed, ["rpi-5"], cluster_name=SQLITE, k3s_server_embedded_etcd=False)
    inv.write_text(yaml.safe_dump(layout))
    start = time.monotonic()
    code, output = run_bootstrap(inv, airgap, "--no-verify")
    TIMES["bootstrap (sqlite)"] = time.monotonic() - start
    assert code == 0, output
    return {"bed": bed}


def test_sqlite_backup_and_restore_bring_back_server_db(sqlite_cluster: dict) -> None:
    """docs.k3s.io/datastore/backup-restore: on SQLite, copy server/db with the token; to
    restore, put both back."""
    bed = sqlite_cluster["bed"]
    assert clusters.load(SQLITE).datastore == "sqlite"
    start = time.monotonic()
    code, out = cli("backup", "--cluster", SQLITE, "--json")
    TIMES["backup (sqlite)"] = time.monotonic() - start
    assert code == 0, out
    backup = json.loads(out)["backup"]
    assert backup["datastore"] == "sqlite" and backup["file"].endswith(".tar.gz")
    directory = Path(backup["directory"])
    for name in (backup["file"], "token", "backup.json"):
        assert stat.S_IMODE((directory / name).stat().st_mode) == 0o600, name
    assert sh(bed, "rpi-5", "systemctl is-active k3s").stdout.strip() == "active"
    assert sh(bed, "rpi-5", "ls /var/lib/rancher/k3s/server/*.tar.gz").returncode != 0
    assert sh(bed, "rpi-5", "k3s kubectl cordon rpi-5").returncode == 0
    start = time.monotonic()
    code, out = cli("restore", backup["name"], "--cluster", SQLITE, "--yes")
    TIMES["restore (sqlite)"] = time.monotonic() - start
    assert code == 0, out
    node = json.loads(sh(bed, "rpi-5", "k3s kubectl get node rpi-5 -o json").stdout)
    assert ready(node) == "True" and not node["spec"].get("unschedulable")
    assert "db-pre-restore-" in sh(bed, "rpi-5", "ls /var/lib/rancher/k3s/server").stdout
    assert [(r.command, r.ok) for r in clusters.load(SQLITE).runs][-2:] == [
        ("backup", True),
        ("restore", True),
    ]
