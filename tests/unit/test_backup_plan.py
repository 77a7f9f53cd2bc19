"""backup / restore: the backups on the controller, the restore plan and its refusals
(no host is contacted: every refusal comes before restore.yml runs)."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from pi_k8s import clusters
from pi_k8s import operations as ops
from pi_k8s.ansible_vars import AnsibleInventory
from pi_k8s.cli import app
from pi_k8s.clusters import K3sRelease, Run
from pi_k8s.errors import SpecError, UsageError
from pi_k8s.operations import backup as backup_mod

TOKEN = "K10" + "ab" * 32 + "::server:s3cret"


@pytest.fixture(autouse=True)
def lab(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> clusters.ClusterState:
    """Cluster 'lab': servers rpi-1, rpi-2, rpi-3 and agent rpi-4, its token on file."""
    monkeypatch.setenv("PI_K8S_STATE_DIR", str(tmp_path / "state"))
    servers, agents = ["rpi-1", "rpi-2", "rpi-3"], ["rpi-4"]
    inv = AnsibleInventory(
        groups={"server": servers, "agent": agents},
        hostvars={
            h: {"cluster_name": "lab", "ansible_host": f"10.0.0.{h[-1]}"}
            for h in [*servers, *agents]
        },
    )
    path = tmp_path / "hosts.yml"
    path.write_text("{}")
    state = clusters.update_state(
        None,
        inv,
        path,
        release=K3sRelease("v1.31.4+k3s1", None),
        run=Run("bootstrap", "2026-11-30T10:00:00Z", True, "ok"),
    )
    clusters.save(state)
    (clusters.cluster_dir("lab") / "token").write_text("s3cret\n")
    return state


def make_backup(name: str, created: str, *, cluster: str = "lab", token: str = TOKEN) -> Path:
    directory = backup_mod.backups_dir("lab") / name
    directory.mkdir(parents=True)
    (directory / name).write_text('{"state": {}}')
    (directory / "token").write_text(token + "\n")
    meta = {
        "name": name,
        "cluster": cluster,
        "datastore": "etcd",
        "server": "rpi-1",
        "file": name,
        "sha256": hashlib.sha256(b'{"state": {}}').hexdigest(),
        "size": 13,
        "created": created,
    }
    (directory / "backup.json").write_text(json.dumps(meta))
    return directory


def edit(directory: Path, **changes: object) -> None:
    meta = directory / "backup.json"
    meta.write_text(json.dumps({**json.loads(meta.read_text()), **changes}))


def test_the_plan_follows_k3s_restore_order() -> None:
    make_backup("pi-k8s-rpi-1-100", "2026-12-01T04:00:00Z")
    plan = ops.plan_restore("pi-k8s-rpi-1-100", cluster="lab")
    assert (plan.first_server, plan.other_servers, plan.agents) == (
        "rpi-1",
        ["rpi-2", "rpi-3"],
        ["rpi-4"],
    )
    assert plan.steps == [
        "stop k3s on rpi-1, rpi-2, rpi-3",
        "rpi-1: k3s server --cluster-reset --cluster-reset-restore-path=<snapshot> (its token)",
        "start k3s on rpi-1",
        "one at a time, remove server/db and start k3s: rpi-2, rpi-3",
        "restart the agents: rpi-4",
        "wait until every node is Ready",
    ]
    assert ops.run_restore(plan, check=True).run is None  # --check runs nothing


def test_a_changed_sha256_is_refused() -> None:
    d = make_backup("pi-k8s-rpi-1-100", "2026-12-01T04:00:00Z")
    edit(d, sha256="0" * 64)
    with pytest.raises(SpecError, match=r"sha256 .* Refused; nothing was stopped"):
        ops.plan_restore(d.name, cluster="lab")
    edit(d, sha256=hashlib.sha256(b'{"state": {}}').hexdigest())
    (d / d.name).write_text('{"state": {"x": 1}}')  # the file changed instead
    with pytest.raises(SpecError, match=r"the snapshot's sha256 is"):
        ops.plan_restore(d.name, cluster="lab")


def test_another_clusters_snapshot_is_refused() -> None:
    d = make_backup("a", "2026-12-01T04:00:00Z", cluster="other")
    with pytest.raises(SpecError, match="of cluster 'other', not 'lab'"):
        ops.plan_restore("a", cluster="lab")
    make_backup("b", "2026-12-01T04:00:00Z", token="K10" + "cd" * 32 + "::server:another")
    with pytest.raises(SpecError, match="another cluster's snapshot"):
        ops.plan_restore("b", cluster="lab")
    del d


def test_a_backup_without_its_token_or_unknown_is_refused() -> None:
    d = make_backup("a", "2026-12-01T04:00:00Z")
    (d / "token").unlink()
    with pytest.raises(SpecError, match="lacks its snapshot or its token"):
        ops.plan_restore("a", cluster="lab")
    with pytest.raises(UsageError, match="No backup 'nope'"):
        ops.plan_restore("nope", cluster="lab")
    with pytest.raises(UsageError, match="No backup"):
        ops.plan_restore("", cluster="lab")


def test_a_datastore_mismatch_is_refused() -> None:
    d = make_backup("a", "2026-12-01T04:00:00Z")
    edit(d, datastore="sqlite")
    with pytest.raises(SpecError, match="holds a sqlite datastore; cluster 'lab' runs etcd"):
        ops.plan_restore("a", cluster="lab")


def test_list_is_oldest_first_and_keep_prunes_the_oldest() -> None:
    make_backup("c", "2026-12-01T06:00:00Z")
    make_backup("a", "2026-12-01T04:00:00Z")
    make_backup("b", "2026-12-01T05:00:00Z")
    (backup_mod.backups_dir("lab") / ".incoming-x").mkdir()  # a run in progress: not listed
    name, found = ops.list_backups("lab")
    assert name == "lab" and [b.name for b in found] == ["a", "b", "c"]
    assert backup_mod.prune("lab", 2) == ["a"]
    assert [b.name for b in ops.list_backups("lab")[1]] == ["b", "c"]
    with pytest.raises(UsageError, match="--keep 0 must be at least 1"):
        ops.run_backup(cluster="lab", keep=0)


def test_cli_restore_needs_yes_without_a_terminal_and_lists_as_json() -> None:
    make_backup("a", "2026-12-01T04:00:00Z")
    runner = CliRunner(env={"COLUMNS": "200"})
    result = runner.invoke(app, ["restore", "a", "--cluster", "lab"])
    assert result.exit_code == 2, result.output
    assert "--yes" in result.output and "Traceback" not in result.output
    result = runner.invoke(app, ["backup", "list", "--cluster", "lab", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["cluster"] == "lab" and [b["name"] for b in data["backups"]] == ["a"]
    result = runner.invoke(app, ["restore", "a", "--cluster", "lab", "--check", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["plan"]["steps"][0] == "stop k3s on rpi-1, rpi-2, rpi-3"
    result = runner.invoke(app, ["backup", "--cluster", "lab", "--keep", "0"])
    assert result.exit_code == 2 and "--keep 0" in result.output


def test_sha256_of_reads_the_whole_file(tmp_path: Path) -> None:
    big = tmp_path / "f"
    big.write_bytes(os.urandom(3 << 20))
    assert backup_mod.sha256_of(big) == hashlib.sha256(big.read_bytes()).hexdigest()
