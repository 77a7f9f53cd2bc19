"""`pi-k8s reboot` on a live testbed cluster: 3 servers (rpi-1..3) + 1 agent (rpi-4, the
1 GB board), the stand-in over the airgap path. Tests run in file order on one cluster.

The containers cannot reboot (their kernel is the machine's): pi_prereq's reboot marker
counts the reboot in /var/lib/pi-k8s/reboot-count instead, which is what is asserted. Such
a recorded reboot does not make the node NotReady, so the sampler (a thread polling the
API every ~0.5 s during the rolling reboot) records which nodes are cordoned as well as
which are Ready: at every sample at least 3 nodes are Ready, at least 3 are schedulable and
at most 1 is cordoned (--max-unavailable 1).

The wall time of each step is written to $PI_K8S_STATE_DIR/reboot-times.json.
"""

from __future__ import annotations

import json
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from pi_k8s import clusters, paths, runner
from pi_k8s import testbed as tb
from tests.conftest import cli, make_testbed, run_bootstrap
from tests.conftest import host_sh as sh
from tests.testbed_inventory import cluster_inventory

pytestmark = pytest.mark.testbed
# Ansible's own strategy: the sampler must see each node's cordon window, which Mitogen
# makes shorter than its poll under load.
ANSIBLES_OWN_STRATEGY = True

NAME = "rb14"
SERVERS = ["rpi-1", "rpi-2", "rpi-3"]
AGENTS = ["rpi-4"]
HOSTS = SERVERS + AGENTS
COUNT = "/var/lib/pi-k8s/reboot-count"
FLAG = "/var/run/reboot-required"
S: dict = {}


def timed(step: str, started: float) -> None:
    S.setdefault("times", {})[step] = round(time.monotonic() - started, 1)
    (paths.state_dir() / "reboot-times.json").write_text(json.dumps(S["times"], indent=1))


def counts(bed: tb.Testbed) -> dict[str, str]:
    return {h: sh(bed, h, f"cat {COUNT}").stdout.strip() for h in HOSTS}


def node_list(bed: tb.Testbed) -> dict[str, dict]:
    items = json.loads(sh(bed, "rpi-1", "k3s kubectl get nodes -o json").stdout)["items"]
    return {n["metadata"]["name"]: n for n in items}


def is_ready(node: dict) -> bool:
    return any(c["type"] == "Ready" and c["status"] == "True" for c in node["status"]["conditions"])


def cordoned(bed: tb.Testbed) -> list[str]:
    return sorted(n for n, v in node_list(bed).items() if v["spec"].get("unschedulable"))


def run_dirs() -> list[str]:
    runs = paths.state_dir() / "runs"
    return sorted(p.name for p in runs.iterdir()) if runs.is_dir() else []


def drain_commands() -> dict[str, str]:
    """The newest reboot run's `kubectl drain` command line per node (its artifacts)."""
    newest = max((paths.state_dir() / "runs").glob("*-reboot"), key=lambda p: p.name)
    found = {}
    for path in newest.glob("artifacts/*/job_events/*.json"):
        event = json.loads(path.read_text())
        data = event.get("event_data", {})
        if event["event"] == "runner_on_ok" and data.get("task") == "Ensure the node is drained.":
            found[data["host"]] = " ".join(data["res"]["cmd"])
    return found


class Sampler(threading.Thread):
    """Polls `k3s kubectl get nodes -o json` on a server (the first that answers) every
    ~0.5 s and keeps, per sample, the Ready and the cordoned nodes."""

    def __init__(self, bed: tb.Testbed) -> None:
        super().__init__(daemon=True)
        self.containers = [next(h.container for h in bed.hosts if h.name == s) for s in SERVERS]
        self.samples: list[dict] = []
        self.failed = 0
        self.halt = threading.Event()

    def poll(self) -> dict | None:
        for container in self.containers:
            proc = subprocess.run(
                ["podman", "exec", container, "k3s", "kubectl", "get", "nodes", "-o", "json"],
                capture_output=True,
                text=True,
                timeout=30,
            )
            if proc.returncode == 0:
                items = json.loads(proc.stdout)["items"]
                return {
                    "t": time.monotonic(),
                    "ready": sorted(n["metadata"]["name"] for n in items if is_ready(n)),
                    "cordoned": sorted(
                        n["metadata"]["name"] for n in items if n["spec"].get("unschedulable")
                    ),
                }
        return None

    def run(self) -> None:
        while not self.halt.is_set():
            sample = self.poll()
            if sample is None:
                self.failed += 1
            else:
                self.samples.append(sample)
            self.halt.wait(0.5)


@pytest.fixture(scope="module")
def bed(
    own_state_dir: Path,
    tmp_path_factory: pytest.TempPathFactory,
    controller_home: Path,
    airgap: Path,
) -> Iterator[tb.Testbed]:
    for testbed in make_testbed(NAME, "10.213.107.0/24", nodes=4):
        inv = tmp_path_factory.mktemp("inv") / "hosts.yml"
        inv.write_text(yaml.safe_dump(cluster_inventory(testbed, SERVERS, AGENTS)))
        started = time.monotonic()
        S["bootstrap"] = run_bootstrap(inv, airgap, "--no-verify")
        timed("bootstrap 3 servers + 1 agent", started)
        yield testbed


def test_1_bootstrap(bed: tb.Testbed) -> None:
    code, out = S["bootstrap"]
    assert code == 0, out
    nodes = node_list(bed)
    assert sorted(nodes) == HOSTS and all(is_ready(n) for n in nodes.values())
    assert counts(bed) == dict.fromkeys(HOSTS, "1")  # bootstrap's cmdline.txt reboot
    assert cordoned(bed) == []


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--max-unavailable", "0"], ["--max-unavailable 0 must be at least 1"]),
        (["--timeout", "0"], ["--timeout 0 must be at least 1 second"]),
        (["--cluster", "no-such-cluster"], ["No cluster named 'no-such-cluster'"]),
    ],
)
def test_2_bad_flags_are_refused_before_ansible(
    bed: tb.Testbed, args: list[str], words: list[str]
) -> None:
    before, runs = (clusters.cluster_dir(NAME) / "cluster.json").read_text(), run_dirs()
    code, out = cli("reboot", *args)
    assert code == 2, out
    assert all(w in out for w in words), out
    assert "hint:" in out and "Traceback" not in out
    assert run_dirs() == runs  # no playbook started
    assert (clusters.cluster_dir(NAME) / "cluster.json").read_text() == before
    assert counts(bed) == dict.fromkeys(HOSTS, "1")


def test_3_rolling_reboot_keeps_three_nodes_in_service(bed: tb.Testbed) -> None:
    code, out = cli("reboot", "--check", "--json")
    assert code == 0, out
    plan = json.loads(out)["plan"]
    assert plan["batches"] == [["rpi-1"], ["rpi-2"], ["rpi-3"], ["rpi-4"]]
    assert plan["skipped"] == [] and counts(bed) == dict.fromkeys(HOSTS, "1")

    sampler = Sampler(bed)
    sampler.start()
    time.sleep(1.5)  # a few samples before the first cordon
    started = time.monotonic()
    code, out = cli("reboot", "--json", "-c", NAME)
    timed("rolling reboot of 4 nodes", started)
    time.sleep(1.5)
    sampler.halt.set()
    sampler.join(timeout=60)
    assert code == 0, out
    data = json.loads(out)

    # Every node rebooted once (the container's marker), none left cordoned.
    assert counts(bed) == dict.fromkeys(HOSTS, "2")
    assert cordoned(bed) == []
    assert data["recap"] and all(r["failed"] == 0 for r in data["recap"].values())
    assert clusters.load(NAME).runs[-1].command == "reboot"
    assert clusters.load(NAME).runs[-1].ok

    # The run's steps: each node cordoned, drained, rebooted, back and uncordoned, in
    # that order; one node at a time (servers in inventory order), the agent last.
    steps = [(s["host"], s["step"]) for s in data["steps"]]
    hosts_in_order = [h for i, (h, _) in enumerate(steps) if i == 0 or steps[i - 1][0] != h]
    assert hosts_in_order == HOSTS, steps
    for host in HOSTS:
        assert [s for h, s in steps if h == host] == [
            "cordoned",
            "drained",
            "rebooted (recorded)",
            "reboot-required removed",
            "answers over SSH",
            "Ready",
            "uncordoned",
        ], (host, steps)

    # The sampler: the API answered throughout; never fewer than 3 Ready or schedulable
    # nodes, never more than 1 cordoned, and it saw each node cordoned in turn.
    S["samples"] = len(sampler.samples)
    assert sampler.failed == 0, sampler.failed
    assert len(sampler.samples) >= 10, sampler.samples
    for sample in sampler.samples:
        assert len(sample["ready"]) >= 3, sample
        assert len(set(sample["ready"]) - set(sample["cordoned"])) >= 3, sample
        assert len(sample["cordoned"]) <= 1, sample
    seen = [s["cordoned"][0] for s in sampler.samples if s["cordoned"]]
    assert [h for i, h in enumerate(seen) if i == 0 or seen[i - 1] != h] == HOSTS, seen
    assert sampler.samples[0]["cordoned"] == [] and sampler.samples[-1]["cordoned"] == []


def test_4_only_if_needed_reboots_only_the_flagged_node(bed: tb.Testbed) -> None:
    assert sh(bed, "rpi-3", f"echo '*** System restart required ***' > {FLAG}").returncode == 0
    code, out = cli("reboot", "--only-if-needed", "--check", "--json")
    assert code == 0, out
    plan = json.loads(out)["plan"]
    assert plan["batches"] == [["rpi-3"]]
    assert plan["skipped"] == ["rpi-1", "rpi-2", "rpi-4"]
    assert sh(bed, "rpi-3", f"test -e {FLAG}").returncode == 0  # --check changed nothing
    assert counts(bed) == dict.fromkeys(HOSTS, "2")

    started = time.monotonic()
    code, out = cli("reboot", "--only-if-needed", "--json")
    timed("reboot --only-if-needed (1 node)", started)
    assert code == 0, out
    data = json.loads(out)
    assert counts(bed) == {"rpi-1": "2", "rpi-2": "2", "rpi-3": "3", "rpi-4": "2"}
    assert sh(bed, "rpi-3", f"test -e {FLAG}").returncode == 1  # gone, as after a reboot
    steps = [(s["host"], s["step"]) for s in data["steps"]]
    assert [h for h, s in steps if s == "skipped (no reboot required)"] == [
        "rpi-1",
        "rpi-2",
        "rpi-4",
    ]
    assert [s for h, s in steps if h == "rpi-3"][:3] == [
        "cordoned",
        "drained",
        "rebooted (recorded)",
    ]
    assert {h for h, s in steps if not s.startswith("skipped")} == {"rpi-3"}
    assert data["recap"]["rpi-3"]["changed"] > 0
    assert all(data["recap"][h]["changed"] == 0 for h in ("rpi-1", "rpi-2", "rpi-4"))
    assert cordoned(bed) == []


def test_5_progress_names_the_node_and_each_step(bed: tb.Testbed) -> None:
    """Without --json: a progress line per node and step, as they happen (the agent)."""
    assert sh(bed, "rpi-4", f"touch {FLAG}").returncode == 0
    started = time.monotonic()
    code, out = cli("reboot", "--only-if-needed", "-c", NAME)
    timed("reboot --only-if-needed (the agent, with progress)", started)
    assert code == 0, out
    lines = [line.strip() for line in out.splitlines()]
    progress = [line[2:] for line in lines if line.startswith("* rpi-")]
    assert progress == [
        "rpi-1: skipped (no reboot required)",
        "rpi-2: skipped (no reboot required)",
        "rpi-3: skipped (no reboot required)",
        "rpi-4: cordoned",
        "rpi-4: drained",
        "rpi-4: rebooted (recorded)",
        "rpi-4: reboot-required removed",
        "rpi-4: answers over SSH",
        "rpi-4: Ready",
        "rpi-4: uncordoned",
    ], out
    assert "rebooted 1 node(s)" in out
    assert counts(bed) == {"rpi-1": "2", "rpi-2": "2", "rpi-3": "3", "rpi-4": "3"}
    assert sh(bed, "rpi-4", f"test -e {FLAG}").returncode == 1


def test_6_a_second_only_if_needed_changes_nothing(bed: tb.Testbed) -> None:
    runs = len(clusters.load(NAME).runs)
    started = time.monotonic()
    code, out = cli("reboot", "--only-if-needed", "--json")
    timed("reboot --only-if-needed (nothing to do)", started)
    assert code == 0, out
    data = json.loads(out)
    assert data["plan"]["batches"] == [] and data["status"] is None and data["steps"] == []
    assert "nothing to reboot" in " ".join(data["plan"]["notes"])
    assert counts(bed) == {"rpi-1": "2", "rpi-2": "2", "rpi-3": "3", "rpi-4": "3"}
    assert len(clusters.load(NAME).runs) == runs


def test_7_the_first_failure_stops_the_run_at_that_node(bed: tb.Testbed) -> None:
    """rpi-2's reboot counter is made a directory, so its recorded reboot fails: the run
    stops there, naming the node and the step; rpi-2 stays cordoned, rpi-3 and rpi-4 are
    not touched. Once the counter is back, a re-run completes and uncordons rpi-2."""
    before = counts(bed)
    assert sh(bed, "rpi-2", f"mv {COUNT} {COUNT}.saved && mkdir {COUNT}").returncode == 0
    try:
        started = time.monotonic()
        code, out = cli("reboot", "-c", NAME)
        timed("reboot that fails at rpi-2", started)
        text = " ".join(out.split())
        assert code == 4, out
        assert "rpi-2 failed at 'Count the reboots pi-k8s asked for.'" in text, out
        after = counts(bed)
        assert int(after["rpi-1"]) == int(before["rpi-1"]) + 1
        assert (after["rpi-3"], after["rpi-4"]) == (before["rpi-3"], before["rpi-4"])
        assert cordoned(bed) == ["rpi-2"]
        assert not clusters.load(NAME).runs[-1].ok
    finally:
        sh(bed, "rpi-2", f"rmdir {COUNT} && mv {COUNT}.saved {COUNT}")
    started = time.monotonic()
    code, out = cli("reboot", "-c", NAME, "--timeout", "45", "--force")
    timed("re-run after the failure (4 nodes)", started)
    assert code == 0, out
    assert cordoned(bed) == []
    # --timeout and --force reached kubectl drain, on every node.
    drains = drain_commands()
    assert sorted(drains) == HOSTS, drains
    assert all("--timeout=45s" in c and "--force" in c for c in drains.values()), drains
    again = counts(bed)
    assert int(again["rpi-1"]) == int(before["rpi-1"]) + 2
    assert all(int(again[h]) == int(before[h]) + 1 for h in ("rpi-2", "rpi-3", "rpi-4"))
    S["counts"] = again


def test_8_a_node_not_ready_is_refused_before_any_host_is_touched(bed: tb.Testbed) -> None:
    assert sh(bed, "rpi-4", "systemctl stop k3s-agent").returncode == 0
    try:
        deadline = time.monotonic() + 120  # the stand-in's grace period is 40 s
        while is_ready(node_list(bed)["rpi-4"]) and time.monotonic() < deadline:
            time.sleep(2)
        assert not is_ready(node_list(bed)["rpi-4"])
        runs = run_dirs()
        code, out = cli("reboot", "-c", NAME)
        assert code == 2, out
        assert "rpi-4: Ready is Unknown" in out and "pi-k8s status" in out, out
        assert run_dirs() == runs
        assert counts(bed) == S["counts"]
        # The playbook on its own (as a plain Ansible user runs it) refuses in its first play.
        result = runner.run_playbook("reboot.yml", inventory=Path(clusters.load(NAME).inventory))
        assert not result.ok
        assert [(f.host, f.task) for f in result.failures] == [
            ("rpi-4", "Ensure every node is Ready before the first one is taken out.")
        ], result.failures
        assert "node rpi-4 is not Ready" in result.failures[0].message
        assert counts(bed) == S["counts"]
        assert cordoned(bed) == []
    finally:
        assert sh(bed, "rpi-4", "systemctl start k3s-agent").returncode == 0
