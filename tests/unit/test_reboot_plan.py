"""`pi-k8s reboot`: the plan (batches as reboot.yml's ``serial`` cuts them, --only-if-needed)
and the refusals before any host is touched (flags, unknown cluster, a node not Ready).
The host reads are replaced here (status.gather, the reboot-required read); the testbed
test (tests/integration/test_reboot.py) does them for real."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from pi_k8s import clusters, paths, runner
from pi_k8s import status as status_pkg
from pi_k8s.ansible_vars import AnsibleInventory
from pi_k8s.cli import app
from pi_k8s.clusters import K3sRelease, Run
from pi_k8s.errors import UsageError
from pi_k8s.operations import RebootOptions, reboot_cluster
from pi_k8s.operations import reboot as reboot_op
from pi_k8s.operations.reboot import STEPS, plan_reboot, step_of
from pi_k8s.status.model import ApiStatus, NodeRow, StatusReport

SERVERS, AGENTS = ["rpi-1", "rpi-4", "rpi-5"], ["rpi-2", "rpi-3", "rpi-6"]
ORDER = [(h, "server") for h in SERVERS] + [(h, "agent") for h in AGENTS]


@pytest.fixture(autouse=True)
def lab(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Cluster 'lab' remembered in a private state dir; its inventory on disk."""
    monkeypatch.setenv("PI_K8S_STATE_DIR", str(tmp_path / "state"))
    hosts = SERVERS + AGENTS
    inv = AnsibleInventory(
        groups={"server": SERVERS, "agent": AGENTS},
        hostvars={h: {"cluster_name": "lab", "ansible_host": f"10.0.0.{h[-1]}"} for h in hosts},
    )
    path = tmp_path / "hosts.yml"
    path.write_text(
        yaml.safe_dump(
            {
                "all": {
                    "children": {
                        "k3s_cluster": {
                            "children": {
                                "server": {"hosts": {h: {} for h in SERVERS}},
                                "agent": {"hosts": {h: {} for h in AGENTS}},
                            },
                            "vars": {"cluster_name": "lab"},
                        }
                    }
                }
            }
        )
    )
    state = clusters.update_state(
        None,
        inv,
        path,
        release=K3sRelease("v1.31.4+k3s1", None),
        run=Run("bootstrap", "2026-11-30T10:00:00Z", True, "ok"),
    )
    clusters.save(state)
    return path


def report(ready: dict[str, str | None], unreachable: tuple[str, ...] = ()) -> StatusReport:
    rows = [
        NodeRow(
            hostname=h,
            role=role,
            address=None,
            joined=None,
            reachable=h not in unreachable,
            error="ssh: connect timed out" if h in unreachable else None,
            ready=ready.get(h, "True"),
            ready_reason="NodeStatusUnknown" if ready.get(h) == "Unknown" else None,
        )
        for h, role in ORDER
    ]
    api = ApiStatus("https://10.0.0.1:6443", True, "rpi-1", "pong", node_list_from="rpi-1")
    return StatusReport("lab", True, "hosts.yml", "now", 0.1, None, "etcd", api, rows, [])


@pytest.fixture
def no_playbook(monkeypatch: pytest.MonkeyPatch) -> list:
    """Fails the test if a playbook would start; records the calls otherwise."""
    calls: list = []

    def refuse(*args: object, **kwargs: object) -> None:
        calls.append((args, kwargs))
        raise AssertionError("a playbook was started")

    monkeypatch.setattr(runner, "run_playbook", refuse)
    return calls


def reads(monkeypatch: pytest.MonkeyPatch, rep: StatusReport, needed: dict[str, bool]) -> None:
    monkeypatch.setattr(status_pkg, "gather", lambda *a, **k: rep)
    monkeypatch.setattr(reboot_op, "_reboot_required", lambda inv, hosts: needed)


# ------------------------------------------------------------------------------ the plan


def test_servers_one_at_a_time_then_agents_in_batches() -> None:
    plan = plan_reboot("lab", ORDER, RebootOptions(max_unavailable=2), {})
    assert plan.batches == [["rpi-1"], ["rpi-4"], ["rpi-5"], ["rpi-2", "rpi-3"], ["rpi-6"]]
    assert plan.skipped == [] and all(n.reason == "every node" for n in plan.nodes)


def test_default_is_one_node_at_a_time() -> None:
    plan = plan_reboot("lab", ORDER, RebootOptions(), {})
    assert plan.batches == [[h] for h, _ in ORDER]


def test_only_if_needed_keeps_the_batches_serial_makes() -> None:
    """Ansible cuts server:agent into batches before each node looks at its flag: a node
    without it keeps its place in its batch, so rpi-6 does not move up beside rpi-3."""
    needed = {"rpi-4": True, "rpi-3": True, "rpi-6": True}
    plan = plan_reboot("lab", ORDER, RebootOptions(max_unavailable=2, only_if_needed=True), needed)
    assert plan.batches == [["rpi-4"], ["rpi-3"], ["rpi-6"]]
    assert plan.skipped == ["rpi-1", "rpi-5", "rpi-2"]
    why = {n.hostname: n.reason for n in plan.nodes}
    assert why["rpi-4"] == "/var/run/reboot-required exists"
    assert why["rpi-1"] == "no /var/run/reboot-required"


def test_only_if_needed_with_nothing_flagged_plans_nothing() -> None:
    plan = plan_reboot("lab", ORDER, RebootOptions(only_if_needed=True), {})
    assert plan.batches == [] and len(plan.skipped) == 6
    assert plan.notes == ["No node has /var/run/reboot-required: nothing to reboot."]


def test_plan_json_names_batches_and_skipped() -> None:
    plan = plan_reboot("lab", ORDER, RebootOptions(only_if_needed=True), {"rpi-5": True})
    data = json.loads(json.dumps(plan.to_dict()))
    assert data["batches"] == [["rpi-5"]] and "rpi-1" in data["skipped"]
    assert data["max_unavailable"] == 1 and data["only_if_needed"] is True


@pytest.mark.parametrize(
    ("how", "words"),
    [
        (RebootOptions(max_unavailable=0), "--max-unavailable 0 must be at least 1"),
        (RebootOptions(max_unavailable=-3), "--max-unavailable -3 must be at least 1"),
        (RebootOptions(timeout=0), "--timeout 0 must be at least 1 second"),
    ],
)
def test_bad_options_are_refused(how: RebootOptions, words: str, no_playbook: list) -> None:
    with pytest.raises(UsageError) as err:
        reboot_cluster(how)
    assert words in err.value.message and err.value.hint and err.value.exit_code == 2
    with pytest.raises(UsageError):
        plan_reboot("lab", ORDER, how, {})


# ------------------------------------------------------------------ refusals from the hosts


def test_a_node_not_ready_is_refused_before_the_playbook(
    monkeypatch: pytest.MonkeyPatch, no_playbook: list
) -> None:
    reads(monkeypatch, report({"rpi-2": "Unknown"}), {})
    before = (clusters.cluster_dir("lab") / "cluster.json").read_text()
    with pytest.raises(UsageError) as err:
        reboot_cluster()
    assert "rpi-2: Ready is Unknown, NodeStatusUnknown" in err.value.message
    assert "pi-k8s status" in (err.value.hint or "")
    assert no_playbook == []
    assert (clusters.cluster_dir("lab") / "cluster.json").read_text() == before


def test_an_unreadable_node_is_refused(monkeypatch: pytest.MonkeyPatch, no_playbook: list) -> None:
    reads(monkeypatch, report({"rpi-5": None}, unreachable=("rpi-5",)), {})
    with pytest.raises(UsageError) as err:
        reboot_cluster(RebootOptions(only_if_needed=True))
    assert "rpi-5: cannot be read (ssh: connect timed out)" in err.value.message


def test_check_plans_and_runs_nothing(monkeypatch: pytest.MonkeyPatch, no_playbook: list) -> None:
    reads(monkeypatch, report({}), {"rpi-1": True, "rpi-6": True})
    result = reboot_cluster(RebootOptions(only_if_needed=True), check=True)
    assert result.plan.batches == [["rpi-1"], ["rpi-6"]] and result.run is None


def test_nothing_needed_runs_no_playbook(
    monkeypatch: pytest.MonkeyPatch, no_playbook: list
) -> None:
    reads(monkeypatch, report({}), {})
    result = reboot_cluster(RebootOptions(only_if_needed=True))
    assert result.run is None and result.plan.batches == [] and no_playbook == []


def test_the_playbook_gets_the_flags(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    reads(monkeypatch, report({}), {})
    seen: dict = {}

    def fake(playbook: str, **kwargs: object) -> runner.RunResult:
        seen.update(kwargs, playbook=playbook)
        return runner.RunResult(playbook, "successful", 0, tmp_path)

    monkeypatch.setattr(runner, "run_playbook", fake)
    result = reboot_cluster(RebootOptions(max_unavailable=3, timeout=60, force=True))
    assert seen["playbook"] == "reboot.yml"
    assert seen["extravars"] == {
        "reboot_max_unavailable": 3,
        "reboot_only_if_needed": False,
        "reboot_timeout": 60,
        "reboot_force": True,
    }
    runs = clusters.load("lab").runs
    assert runs[-1].command == "reboot" and runs[-1].ok
    assert clusters.load("lab").k3s.version == "v1.31.4+k3s1"  # the release stays
    assert result.state is not None


# ------------------------------------------------------------------------------ the CLI


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--max-unavailable", "0"], "--max-unavailable 0 must be at least 1"),
        (["--timeout", "0"], "--timeout 0 must be at least 1 second"),
        (["--cluster", "nope"], "No cluster named 'nope'"),
        (["--max-unavailable", "two"], "Invalid value for '--max-unavailable'"),
    ],
)
def test_cli_refuses_bad_flags(args: list[str], words: str, no_playbook: list) -> None:
    result = CliRunner(env={"COLUMNS": "200"}).invoke(app, ["reboot", *args])
    assert result.exit_code == 2, result.output
    assert words in result.output and "Traceback" not in result.output
    assert not (paths.state_dir() / "runs").exists()


def test_cli_check_shows_the_plan(monkeypatch: pytest.MonkeyPatch, no_playbook: list) -> None:
    reads(monkeypatch, report({}), {"rpi-3": True})
    result = CliRunner(env={"COLUMNS": "200"}).invoke(
        app, ["reboot", "--only-if-needed", "--check", "-c", "lab"]
    )
    assert result.exit_code == 0, result.output
    assert "rolling reboot" in result.output and "check: nothing was changed." in result.output
    assert re.search(r"rpi-3\s+│?\s*agent\s+│?\s*1\b", result.output), result.output
    assert re.search(r"rpi-1\s+│?\s*server\s+│?\s*skipped", result.output), result.output


# --------------------------------------------------------- progress: the playbook's steps


def test_every_step_names_a_task_of_the_playbook_or_its_roles() -> None:
    """The progress maps task names to steps: each must still be a task's name."""
    root = paths.content_dir()
    names = []
    for f in [root / "playbooks" / "reboot.yml", *sorted((root / "roles").glob("*/tasks/*.yml"))]:
        names += re.findall(r"- name: (.+)", f.read_text())
    for start, step in STEPS:
        assert any(n.startswith(start) for n in names), (start, step)


def test_step_of() -> None:
    assert step_of("Ensure the node is cordoned (no new pods).") == "cordoned"
    assert step_of("Count the reboots pi-k8s asked for.") == "rebooted (recorded)"
    assert step_of("Reboot the host to apply the new kernel command line.") == "rebooted"
    assert step_of("Wait until the node is Ready.") == "Ready"
    assert step_of("Reboot the node (or record the reboot in a container).") is None
    assert step_of("Bring the node back once it is Ready.") is None


class _Answer:
    def __init__(self, stdout: str) -> None:
        self.stdout = stdout


def test_the_reboot_required_read_names_every_node_it_could_not_read(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The SSH read itself is the testbed's (test_reboot.py); here its answers are given:
    one node's SSH fails, one answers nonsense, and both are named in one refusal."""
    from pi_k8s.status.hosts import HostUnreadable

    def answer(host: str, hv: dict, command: str, **_: object) -> _Answer:
        assert "reboot-required" in command
        if host == "rpi-3":
            raise HostUnreadable("ssh: connect to host 10.0.0.3 port 22: Connection refused")
        return _Answer({"rpi-1": "yes\n", "rpi-4": "sh: test: not found\n"}.get(host, "no\n"))

    monkeypatch.setattr(reboot_op, "run_on_host", answer)
    inv = AnsibleInventory(groups={}, hostvars={h: {} for h in SERVERS + AGENTS})
    assert reboot_op._reboot_required(inv, ["rpi-1", "rpi-2"]) == {"rpi-1": True, "rpi-2": False}
    with pytest.raises(UsageError) as refused:
        reboot_op._reboot_required(inv, SERVERS + AGENTS)
    assert (
        "rpi-3: ssh: connect to host 10.0.0.3 port 22: Connection refused" in refused.value.message
    )
    assert "rpi-4: answered 'sh: test: not found'" in refused.value.message
    assert "rpi-1" not in refused.value.message and refused.value.hint
