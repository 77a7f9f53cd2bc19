"""Issue 14 §1's acceptance: `pi-k8s upgrade` on 3 servers + 1 agent (rpi-1..3 servers,
rpi-4, the 1 GB board, the agent), the stand-in over the airgap path, in file order:

1. bootstrap at v1.31.4+k3s1; bad requests (a downgrade, a skipped minor release, both or
   neither of --k3s-version/--k3s-channel, --max-unavailable 0) are refused before any
   host is touched, and --check shows the plan and changes nothing;
2. upgrade to v1.31.5+k3s1: every node reports it; the run's events show one server at a
   time, cordon before the restart, uncordon only after Ready at the new release, the agent
   last; cluster.json records the release; a second upgrade changes nothing;
3. upgrade to v1.31.6+k3s1 with the binary tampered once rpi-1 is done: the run stops at
   rpi-2 naming it and the checksum error; rpi-3 and rpi-4 stay at v1.31.5 and every node
   is schedulable; with the binary fixed, a re-run completes (rpi-1 skipped).

Wall times go to $PI_K8S_STATE_DIR/upgrade-times.json.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import time
from collections.abc import Iterator
from pathlib import Path

import build as standin  # tests/standin/build.py, on sys.path through tests/conftest.py
import pytest
import yaml

from pi_k8s import clusters, paths
from pi_k8s import operations as ops
from pi_k8s import testbed as tb
from pi_k8s.errors import PlaybookFailed
from pi_k8s.runner import RunEvent
from tests.conftest import K3S_VERSION, airgap_for, cli, make_testbed, run_bootstrap
from tests.conftest import host_sh as sh
from tests.testbed_inventory import cluster_inventory

pytestmark = pytest.mark.testbed

NAME = "up14"
SERVERS = ["rpi-1", "rpi-2", "rpi-3"]
AGENTS = ["rpi-4"]
V2, V3 = "v1.31.5+k3s1", "v1.31.6+k3s1"
S: dict = {}


def timed(step: str, started: float) -> None:
    S.setdefault("times", {})[step] = round(time.monotonic() - started, 1)
    (paths.state_dir() / "upgrade-times.json").write_text(json.dumps(S["times"], indent=1))


def nodes(bed: tb.Testbed) -> dict[str, dict]:
    items = json.loads(sh(bed, "rpi-1", "k3s kubectl get nodes -o json").stdout)["items"]
    return {n["metadata"]["name"]: n for n in items}


def versions(bed: tb.Testbed) -> dict[str, str]:
    """Each node's kubeletVersion, as the API reports it."""
    return {k: n["status"]["nodeInfo"]["kubeletVersion"] for k, n in nodes(bed).items()}


def binaries(bed: tb.Testbed) -> dict[str, str]:
    """What `k3s --version` says on each host."""
    return {h: sh(bed, h, "k3s --version").stdout.split()[2] for h in SERVERS + AGENTS}


def cordoned(bed: tb.Testbed) -> list[str]:
    return sorted(k for k, n in nodes(bed).items() if n["spec"].get("unschedulable"))


def all_ready(bed: tb.Testbed) -> bool:
    return all(
        next(c["status"] for c in n["status"]["conditions"] if c["type"] == "Ready") == "True"
        for n in nodes(bed).values()
    )


class Recorder:
    """Hooks whose playbook callback keeps every event, and may act on one."""

    def __init__(self, act=None) -> None:
        self.events: list[RunEvent] = []
        self.act = act

    def on_event(self, event: RunEvent) -> None:
        self.events.append(event)
        if self.act:
            self.act(event)

    def hooks(self) -> ops.Hooks:
        return ops.Hooks(playbook=lambda _title: contextlib.nullcontext(self.on_event))

    def first(self, host: str, task_prefix: str, kinds=("ok", "changed")) -> int:
        """The index of ``host``'s first event of a task whose name starts so (-1: none)."""
        return next(
            (
                i
                for i, e in enumerate(self.events)
                if e.host == host and e.kind in kinds and e.task.startswith(task_prefix)
            ),
            -1,
        )


CORDON, RESTART = "Ensure the node is cordoned", "Restart k3s"
READY, UNCORDON = "Wait until the node is Ready", "Ensure the node is schedulable"


@pytest.fixture(scope="module")
def bed(
    tmp_path_factory: pytest.TempPathFactory, controller_home: Path, airgap: Path
) -> Iterator[tb.Testbed]:
    for testbed in make_testbed(NAME, "10.213.108.0/24", nodes=4):
        S["v2"] = airgap_for(tmp_path_factory.mktemp("v2"), V2)
        S["v3"] = airgap_for(tmp_path_factory.mktemp("v3"), V3, copy=True)  # tampered later
        inv = tmp_path_factory.mktemp("inv") / "hosts.yml"
        inv.write_text(yaml.safe_dump(cluster_inventory(testbed, SERVERS, AGENTS)))
        started = time.monotonic()
        S["bootstrap"] = run_bootstrap(inv, airgap, "--no-verify")
        timed("bootstrap 3+1", started)
        yield testbed


def test_1_bad_requests_are_refused_before_any_host_is_touched(bed: tb.Testbed) -> None:
    code, out = S["bootstrap"]
    assert code == 0, out
    assert versions(bed) == dict.fromkeys(SERVERS + AGENTS, K3S_VERSION)
    before = (clusters.cluster_dir(NAME) / "cluster.json").read_text()
    v2 = str(S["v2"])
    for args, text in (
        (["--k3s-version", "v1.31.3+k3s1"], "downgrade"),
        (["--k3s-version", "v1.33.0+k3s1"], "skips a minor release"),
        (["--k3s-version", V2, "--k3s-channel", "stable"], "exactly one of"),
        ([], "exactly one of"),
        (["--k3s-version", "1.31.5"], "not a k3s release tag"),
        (["--k3s-version", V2, "--max-unavailable", "0"], "--max-unavailable 0"),
    ):
        code, out = cli("upgrade", "-c", NAME, "--airgap", v2, *args)
        assert code == 2, (args, out)
        assert text in out and "hint" in out, (args, out)
    assert (clusters.cluster_dir(NAME) / "cluster.json").read_text() == before
    assert versions(bed) == dict.fromkeys(SERVERS + AGENTS, K3S_VERSION)


def test_2_check_shows_the_plan_and_changes_nothing(bed: tb.Testbed) -> None:
    code, out = cli("upgrade", "-c", NAME, "--k3s-version", V2, "--airgap", str(S["v2"]),
                    "--check", "--json")  # fmt: skip
    assert code == 0, out
    plan = json.loads(out)["plan"]
    assert [
        (n["hostname"], n["role"], n["now"], n["after"], n["action"]) for n in plan["nodes"]
    ] == [
        (h, "server" if h in SERVERS else "agent", K3S_VERSION, V2, "upgrade")
        for h in SERVERS + AGENTS
    ]
    assert json.loads(out)["status"] is None
    assert versions(bed) == dict.fromkeys(SERVERS + AGENTS, K3S_VERSION)
    assert cordoned(bed) == []


def test_3_upgrade_one_node_at_a_time(bed: tb.Testbed) -> None:
    rec = Recorder()
    started = time.monotonic()
    result = ops.upgrade_cluster(
        ops.UpgradeOptions(k3s_version=V2, airgap=S["v2"]), cluster=NAME, hooks=rec.hooks()
    )
    timed("upgrade 3+1 to v1.31.5", started)
    assert result.run is not None and result.run.ok
    assert versions(bed) == dict.fromkeys(SERVERS + AGENTS, V2)
    assert binaries(bed) == dict.fromkeys(SERVERS + AGENTS, V2)
    assert cordoned(bed) == [] and all_ready(bed)
    order = SERVERS + AGENTS
    steps = {h: [rec.first(h, t) for t in (CORDON, RESTART, READY, UNCORDON)] for h in order}
    for h, idx in steps.items():
        assert -1 not in idx, (h, idx)
        assert idx == sorted(idx), (h, idx)  # cordon < restart < Ready at V2 < uncordon
    for a, b in itertools.pairwise(order):
        assert steps[a][3] < steps[b][0], (a, b)  # one node at a time, the agent last
    state = clusters.load(NAME)
    assert (state.k3s.version, state.k3s.channel) == (V2, None)
    assert state.k3s.location == str(S["v2"].resolve())
    assert state.runs[-1].command == "upgrade" and state.runs[-1].ok


def test_4_a_second_upgrade_changes_nothing(bed: tb.Testbed) -> None:
    rec = Recorder()
    started = time.monotonic()
    result = ops.upgrade_cluster(
        ops.UpgradeOptions(k3s_version=V2), cluster=NAME, hooks=rec.hooks()
    )
    timed("second upgrade (no-op)", started)
    assert result.run is not None and result.run.ok
    assert [n.action for n in result.plan.nodes] == ["skip"] * 4
    assert result.run.changed_total == 0, result.run.changes
    assert all(rec.first(h, CORDON) == -1 for h in SERVERS + AGENTS)


def test_5_a_tampered_binary_stops_the_upgrade_at_that_node(bed: tb.Testbed) -> None:
    def tamper_after_rpi1(event: RunEvent) -> None:
        if (
            event.host == "rpi-1"
            and event.kind in ("ok", "changed")
            and event.task.startswith(UNCORDON)
        ):
            standin.tamper(S["v3"])

    rec = Recorder(tamper_after_rpi1)
    started = time.monotonic()
    with pytest.raises(PlaybookFailed) as failed:
        ops.upgrade_cluster(
            ops.UpgradeOptions(k3s_version=V3, airgap=S["v3"]), cluster=NAME, hooks=rec.hooks()
        )
    timed("upgrade stopped at rpi-2", started)
    message = str(failed.value)
    assert "rpi-2" in message and "Checksum mismatch" in message, message
    assert "stopped at rpi-2" in message and "re-run" in message
    assert versions(bed) == {"rpi-1": V3, "rpi-2": V2, "rpi-3": V2, "rpi-4": V2}
    assert rec.first("rpi-3", CORDON) == -1 and rec.first("rpi-4", CORDON) == -1
    assert cordoned(bed) == [] and all_ready(bed)  # rpi-2 too: it still runs v1.31.5
    assert clusters.load(NAME).runs[-1].ok is False

    airgap_for(S["v3"], V3, copy=True)  # the binary fixed
    rec = Recorder()
    started = time.monotonic()
    code, out = cli("upgrade", "-c", NAME, "--k3s-version", V3, "--airgap", str(S["v3"]), "--json")
    timed("re-run to v1.31.6", started)
    assert code == 0, out
    plan = json.loads(out)["plan"]
    assert [n["action"] for n in plan["nodes"]] == ["skip", "upgrade", "upgrade", "upgrade"]
    assert versions(bed) == dict.fromkeys(SERVERS + AGENTS, V3)
    assert cordoned(bed) == [] and all_ready(bed)
    assert clusters.load(NAME).k3s.version == V3
