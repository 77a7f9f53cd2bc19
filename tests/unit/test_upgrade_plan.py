"""`pi-k8s upgrade` before any host is touched: release tags and the skew rule, a channel
resolved from a channel server (one on loopback here), the per-node plan and its
refusals, and what cluster.json keeps of a channel (a later bootstrap pins it)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any, NoReturn

import pytest
import yaml
from typer.testing import CliRunner

from pi_k8s import clusters, k3s_versions
from pi_k8s.ansible_vars import AnsibleInventory
from pi_k8s.cli import app
from pi_k8s.clusters import K3sRelease, Run
from pi_k8s.errors import SpecError, UsageError
from pi_k8s.operations import UpgradeOptions, upgrade_cluster
from pi_k8s.operations.upgrade import plan_upgrade
from pi_k8s.runner import _reported
from pi_k8s.status.model import ApiStatus, NodeRow, StatusReport

V1, V2 = "v1.31.4+k3s1", "v1.31.5+k3s1"


@pytest.mark.parametrize(
    ("now", "after", "problem"),
    [
        (V1, V1, None),
        (V1, V2, None),
        (V1, "v1.31.4+k3s2", None),
        (V1, "v1.32.0+k3s1", None),
        ("v1.32.0-rc1+k3s1", "v1.32.0+k3s1", None),  # an rc sorts before its release
        (V1, "v1.31.3+k3s1", "downgrade"),
        ("v1.32.0+k3s1", "v1.32.0-rc2+k3s1", "downgrade"),
        ("v1.29.9+k3s1", V1, "skips a minor release"),
        (V1, "v1.33.0+k3s1", "upgrade to v1.32 first"),
    ],
)
def test_the_version_skew_rule(now: str, after: str, problem: str | None) -> None:
    found = k3s_versions.skew_problem(now, after)
    assert (found is None) if problem is None else (problem in str(found)), found


def test_a_tag_that_is_not_a_release_does_not_parse() -> None:
    assert k3s_versions.parse("1.31.5") is None
    assert k3s_versions.parse("v1.31.5") is None


class _Channels(BaseHTTPRequestHandler):
    """update.k3s.io's answer: /v1-release/channels/<name> redirects to the release tag."""

    def do_GET(self) -> None:
        if self.path.endswith("/stable"):
            self.send_response(302)
            self.send_header(
                "Location", "https://github.com/k3s-io/k3s/releases/tag/v1.31.5%2Bk3s1"
            )
        else:
            self.send_response(404)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        return None


@pytest.fixture
def channel_server() -> Iterator[str]:
    server = HTTPServer(("127.0.0.1", 0), _Channels)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}/v1-release/channels"
    server.shutdown()


def test_a_channel_resolves_to_the_tag_it_redirects_to(channel_server: str) -> None:
    assert k3s_versions.resolve_channel("stable", channel_server) == V2
    with pytest.raises(SpecError, match="no release tag"):
        k3s_versions.resolve_channel("latest", channel_server)
    with pytest.raises(SpecError, match="did not answer"):
        k3s_versions.resolve_channel("stable", "http://127.0.0.1:9/channels", timeout=2)


def _state(tmp_path: Path, release: K3sRelease) -> clusters.ClusterState:
    servers, agents = ["rpi-1", "rpi-2", "rpi-3"], ["rpi-4"]
    inv = AnsibleInventory(
        groups={"server": servers, "agent": agents},
        hostvars={
            h: {"cluster_name": "lab", "ansible_host": f"10.0.0.{h[-1]}"} for h in servers + agents
        },
    )
    path = tmp_path / "remembered.yml"
    hosts = {"server": {"hosts": {h: {} for h in servers}}, "agent": {"hosts": {"rpi-4": {}}}}
    path.write_text(
        yaml.safe_dump({"k3s_cluster": {"children": hosts, "vars": {"cluster_name": "lab"}}})
    )
    run = Run("bootstrap", "2026-11-30T10:00:00Z", True, "ok")
    return clusters.update_state(None, inv, path, release=release, run=run)


def _report(rows: dict[str, tuple[str | None, str | None]]) -> StatusReport:
    """A status pass whose API lists each node with (kubeletVersion, Ready)."""
    return StatusReport(
        cluster="lab",
        remembered=True,
        inventory="hosts.yml",
        checked_at="2026-12-01T00:00:00Z",
        seconds=0.1,
        k3s=None,
        datastore="etcd",
        api=ApiStatus("https://10.0.0.1:6443", True, "rpi-1", "pong", node_list_from="rpi-1"),
        nodes=[
            NodeRow(h, None, None, None, True, k3s_version=v, ready=r) for h, (v, r) in rows.items()
        ],
        runs=[],
    )


def test_the_plan_lists_servers_first_and_skips_nodes_at_the_release(tmp_path: Path) -> None:
    state = _state(tmp_path, K3sRelease(V1, None, "airgap", "/a"))
    report = _report({"rpi-4": (V1, "True"), "rpi-2": (V2, "True"), "rpi-1": (V1, "True"),
                      "rpi-3": (V1, "True")})  # fmt: skip
    plan = plan_upgrade(state, report, V2, UpgradeOptions(k3s_version=V2, max_unavailable=2))
    assert [(n.hostname, n.role, n.now, n.action) for n in plan.nodes] == [
        ("rpi-1", "server", V1, "upgrade"),
        ("rpi-2", "server", V2, "skip"),
        ("rpi-3", "server", V1, "upgrade"),
        ("rpi-4", "agent", V1, "upgrade"),
    ]
    assert [n.hostname for n in plan.to_upgrade] == ["rpi-1", "rpi-3", "rpi-4"]
    assert plan.to_dict()["max_unavailable"] == 2


@pytest.mark.parametrize(
    ("rows", "texts"),
    [
        ({"rpi-4": (V1, "False")}, ["rpi-4 is not a Ready node", "Ready=False"]),
        ({"rpi-4": (None, None)}, ["rpi-4 is not a Ready node"]),
        ({"rpi-3": ("v1.31.6+k3s1", "True")}, ["rpi-3: v1.31.5+k3s1 is older", "downgrade"]),
        ({"rpi-2": ("v1.29.9+k3s1", "True")}, ["rpi-2: v1.29.9+k3s1 → v1.31.5+k3s1 skips"]),
    ],
)
def test_a_node_down_a_downgrade_or_a_skip_is_refused(
    tmp_path: Path, rows: dict, texts: list[str]
) -> None:
    state = _state(tmp_path, K3sRelease(V1, None))
    report = _report({**{h: (V1, "True") for h in ("rpi-1", "rpi-2", "rpi-3", "rpi-4")}, **rows})
    with pytest.raises(UsageError) as refused:
        plan_upgrade(state, report, V2, UpgradeOptions(k3s_version=V2))
    for text in texts:
        assert text in str(refused.value)
    assert "Nothing was changed" in str(refused.value) and refused.value.hint


def test_no_node_list_is_refused(tmp_path: Path) -> None:
    report = _report({})
    report.api.node_list_error = "connection refused"
    with pytest.raises(UsageError, match="connection refused"):
        plan_upgrade(_state(tmp_path, K3sRelease(V1, None)), report, V2, UpgradeOptions(V2))


@pytest.mark.parametrize(
    ("options", "text"),
    [
        (UpgradeOptions(), "exactly one of --k3s-version and --k3s-channel"),
        (UpgradeOptions(k3s_version=V2, k3s_channel="stable"), "exactly one of"),
        (UpgradeOptions(k3s_version="1.31.5"), "is not a k3s release tag"),
        (UpgradeOptions(k3s_channel="beta"), "is not a k3s release channel"),
        (UpgradeOptions(k3s_version=V2, max_unavailable=0), "--max-unavailable 0"),
        (UpgradeOptions(k3s_version=V2, timeout=0), "--timeout 0"),
        (UpgradeOptions(k3s_version=V2, mirror="ftp://x"), "is not an http(s) URL"),
        (UpgradeOptions(k3s_version=V2, airgap=Path("/nonexistent/dir")), "is not a directory"),
    ],
)
def test_bad_flags_are_refused_before_the_cluster_is_read(
    options: UpgradeOptions, text: str
) -> None:
    with pytest.raises(UsageError, match=text.replace("(", r"\(").replace(")", r"\)")):
        upgrade_cluster(options, cluster="nowhere")


def test_the_cli_refuses_with_exit_code_2_and_a_hint() -> None:
    result = CliRunner(env={"COLUMNS": "200"}).invoke(app, ["upgrade", "--max-unavailable", "0",
                                                            "--k3s-version", V2])  # fmt: skip
    assert result.exit_code == 2
    assert "--max-unavailable 0 must be at least 1" in result.output and "hint" in result.output


def test_a_run_reports_the_release_a_channel_resolved_to() -> None:
    event = {
        "event": "runner_on_ok",
        "event_data": {"res": {"ansible_facts": {"k3s_install_wanted_version": V2, "other": "x"}}},
    }
    assert _reported(event) == {"k3s_install_wanted_version": V2}
    assert _reported({"event": "runner_on_ok", "event_data": {"res": {"censored": "no_log"}}}) == {}
    empty = {
        "event": "runner_on_ok",
        "event_data": {"res": {"ansible_facts": {"k3s_install_wanted_version": ""}}},
    }
    assert _reported(empty) == {}


def test_release_of_keeps_the_channel_beside_its_resolved_version() -> None:
    inv = AnsibleInventory(
        groups={"server": ["a"]}, hostvars={"a": {"cluster_k3s_channel": "stable"}}
    )
    assert clusters.release_of(inv, {}) == K3sRelease(None, "stable")
    pinned = {"cluster_k3s_version": V2, "cluster_k3s_channel": "stable"}
    assert clusters.release_of(inv, pinned) == K3sRelease(V2, "stable")
    assert clusters.release_of(
        inv, {"cluster_k3s_version": V2, "cluster_k3s_channel": ""}
    ) == K3sRelease(V2, None)


class AnsibleStarted(Exception):
    pass


def test_bootstrap_keeps_the_release_a_followed_channel_resolved_to(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PI_K8S_STATE_DIR", str(tmp_path / "state"))
    calls: list[dict[str, Any]] = []

    def run_playbook(playbook: str, **kwargs: Any) -> NoReturn:
        calls.append(kwargs)
        raise AnsibleStarted(playbook)

    monkeypatch.setattr("pi_k8s.runner.run_playbook", run_playbook)
    inv = tmp_path / "hosts.yml"
    group = {"ansible_host": "10.0.0.1"}
    inv.write_text(
        yaml.safe_dump(
            {
                "k3s_cluster": {
                    "children": {
                        "server": {"hosts": {h: group for h in ("rpi-1", "rpi-2", "rpi-3")}},
                        "agent": {"hosts": {"rpi-4": group}},
                    },
                    "vars": {"cluster_name": "lab", "cluster_k3s_channel": "stable"},
                }
            }
        )
    )
    state = _state(tmp_path, K3sRelease(V1, "stable"))
    clusters.save(state)
    for flags in ([], ["--k3s-channel", "stable"]):
        result = CliRunner(env={"COLUMNS": "200"}).invoke(
            app, ["bootstrap", "-i", str(inv), "--no-verify", *flags]
        )
        assert "AnsibleStarted" in result.stderr, result.output
        assert calls[-1]["extravars"]["cluster_k3s_version"] == V1
        assert "follows channel stable and runs v1.31.4+k3s1" in result.output
    CliRunner().invoke(app, ["bootstrap", "-i", str(inv), "--no-verify", "--k3s-version", V2])
    assert calls[-1]["extravars"]["cluster_k3s_version"] == V2  # a pinned version is the user's


def test_a_bootstrap_on_a_channel_records_the_release_it_resolved_to(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pi_k8s.operations.clusters import remember_run
    from pi_k8s.runner import HostStats, RunResult

    monkeypatch.setenv("PI_K8S_STATE_DIR", str(tmp_path / "state"))
    inv_path = tmp_path / "hosts.yml"
    inv_path.write_text("all: {}\n")
    inv = AnsibleInventory(
        groups={"server": ["rpi-1"]},
        hostvars={"rpi-1": {"cluster_name": "lab", "ansible_host": "10.0.0.1"}},
    )
    run = RunResult("site.yml", "successful", 0, tmp_path, {"rpi-1": HostStats()})
    run.reported = {"k3s_install_wanted_version": V2}
    extra = {"cluster_k3s_channel": "stable", "cluster_k3s_version": ""}
    remember_run("bootstrap", inv_path, inv, extra, run, started="2026-12-01T00:00:00Z")
    assert clusters.load("lab").k3s == K3sRelease(V2, "stable")


def test_an_airgap_cluster_needs_the_new_release_s_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PI_K8S_STATE_DIR", str(tmp_path / "state"))
    state = _state(tmp_path, K3sRelease(V1, None, "airgap", str(tmp_path / "v1")))
    clusters.save(state)
    with pytest.raises(
        UsageError, match=r"which holds v1.31.4\+k3s1, not v1.31.5\+k3s1"
    ) as refused:
        upgrade_cluster(UpgradeOptions(k3s_version=V2), cluster="lab")
    assert "--airgap DIR" in refused.value.hint


@pytest.mark.parametrize("command", ["nodes remove", "reboot", "backup", "restore", "nodes add"])
def test_only_bootstrap_and_upgrade_change_the_recorded_release(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, command: str
) -> None:
    """The inventory of an airgap cluster names no release (bootstrap's flags did): a run
    of another command must not turn the record into 'release, channel stable'."""
    from pi_k8s.operations.clusters import remember_run
    from pi_k8s.runner import HostStats, RunResult

    monkeypatch.setenv("PI_K8S_STATE_DIR", str(tmp_path / "state"))
    state = _state(tmp_path, K3sRelease(V1, None, "airgap", "/srv/k3s-v1.31.4"))
    clusters.save(state)
    inv = AnsibleInventory(
        groups={"server": ["rpi-1", "rpi-2", "rpi-3"], "agent": ["rpi-4"]},
        hostvars={h: {"cluster_name": "lab"} for h in ("rpi-1", "rpi-2", "rpi-3", "rpi-4")},
    )
    run = RunResult("x.yml", "successful", 0, tmp_path, {"rpi-1": HostStats()})
    remember_run(command, Path(state.inventory), inv, {}, run, started="2026-12-01T00:00:00Z")
    assert clusters.load("lab").k3s == K3sRelease(V1, None, "airgap", "/srv/k3s-v1.31.4")
    assert clusters.load("lab").runs[-1].command == command
