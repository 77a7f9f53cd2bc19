"""`pi-k8s status` without hosts: the probe's parser (fixtures), the throttle bits, the
report's composition and its JSON Schema, the text view, and the CLI's refusals.

The hosts and the API port are replaced by doubles only in the composition tests
(``fake_hosts``): SSH to a Pi and k3s's port cannot run in a unit test. The real thing on
testbed hosts is tests/integration/test_status_testbed.py.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import pty
import select
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from rich.console import Console
from typer.testing import CliRunner

from pi_k8s import console, schemas, status
from pi_k8s.ansible_vars import AnsibleInventory
from pi_k8s.cli import app
from pi_k8s.clusters import ClusterState, K3sRelease, Member, Run
from pi_k8s.errors import SpecError
from pi_k8s.render.status import node_cells, status_view, throttling_text, uptime_text
from pi_k8s.status import api, hosts, probe
from pi_k8s.status.model import Disk, HostFacts, NodeRow, Throttling
from pi_k8s.verify.parsers import THROTTLE_CONDITIONS, parse_nodes, split_throttled
from tests.badinput.runner import cli_env, pi_k8s_command, plain

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
PROBE_CASES = sorted((FIXTURES / "status" / "probe").glob("*.json"))
NODES_JSON = (FIXTURES / "k3s" / "get-nodes.json").read_text()  # real k3s: pi-1, pi-4
runner = CliRunner(env={"COLUMNS": "200"})


# ----------------------------------------------------------------------------- the probe


@pytest.mark.parametrize("case", PROBE_CASES, ids=[p.stem for p in PROBE_CASES])
def test_probe_output_is_parsed(case: Path) -> None:
    data = json.loads(case.read_text(encoding="utf-8"))
    facts = probe.parse(data["input"].encode())
    want = data["expected"]
    assert facts.pi_model == want["pi_model"]
    assert facts.temperature_c == want["temperature_c"]
    assert (facts.throttling.__dict__ if facts.throttling else None) == want["throttling"]
    assert [d.__dict__ for d in facts.disks] == want["disks"]
    assert facts.uptime_s == want["uptime_s"]
    assert (facts.node_list[0] if facts.node_list else None) == want["node_list_rc"]
    if want["nodes"] is not None:
        assert facts.node_list is not None
        assert [n.name for n in parse_nodes(facts.node_list[1])] == want["nodes"]


@pytest.mark.parametrize("server", [False, True])
def test_the_script_runs_in_posix_sh_and_every_section_parses(server: bool) -> None:
    """On this machine: / and /proc/uptime exist for sure; a server's script also asks
    kubectl (there is no k3s here, so the section holds kubectl's failure)."""
    out = subprocess.run(
        ["sh", "-c", probe.script(server)], capture_output=True, check=True, timeout=60
    ).stdout
    facts = probe.parse(out)
    assert [d.path for d in facts.disks][:1] == ["/"] and facts.disks[0].size_mb > 0
    assert facts.uptime_s is not None and facts.uptime_s > 0
    if server:
        assert facts.node_list is not None and facts.node_list[0] != 0
    else:
        assert facts.node_list is None


@pytest.mark.parametrize(
    ("raw", "now", "since"),
    [
        ("throttled=0x0", [], []),
        ("throttled=0x50005", ["under-voltage", "throttled"], ["under-voltage", "throttled"]),
        ("throttled=0x80008", ["soft temperature limit"], ["soft temperature limit"]),
        ("throttled=0x20000", [], ["arm frequency capped"]),
        ("throttled=0xf000f", list(THROTTLE_CONDITIONS), list(THROTTLE_CONDITIONS)),
        ("0x2", ["arm frequency capped"], []),
    ],
)
def test_throttle_bits_split_into_now_and_since_boot(raw: str, now: list, since: list) -> None:
    assert split_throttled(raw) == (now, since)
    parsed = probe.parse_throttled(raw)
    assert parsed is not None and (parsed.now, parsed.since_boot) == (now, since)


def test_no_vcgencmd_or_its_error_is_no_throttling_not_a_healthy_one() -> None:
    assert probe.parse_throttled(None) is None
    assert probe.parse_throttled("") is None
    assert probe.parse_throttled('error=1 error_msg="Command not registered"') is None


# ----------------------------------------------------------------------------- composition


def inventory(name: str = "lab", agents: tuple[str, ...] = ("pi-2", "pi-3")) -> AnsibleInventory:
    hosts_ = ["pi-1", *agents]
    return AnsibleInventory(
        groups={"server": ["pi-1"], "agent": list(agents), "k3s_cluster": hosts_},
        hostvars={
            h: {"cluster_name": name, "ansible_host": f"10.0.0.{h[-1]}", "ansible_user": "pi"}
            for h in hosts_
        },
    )


JOINED = "2026-11-30T10:00:00Z"


def cluster_state(name: str = "lab", runs: int = 7) -> ClusterState:
    members = [
        Member(f"pi-{i}", f"10.0.0.{i}", None, None, "server" if i == 1 else "agent", i, JOINED)
        for i in (1, 2, 3)
    ]
    return ClusterState(
        name=name,
        api_endpoint="https://10.0.0.1:6443",
        k3s=K3sRelease(version="v1.31.4+k3s1", channel=None, source="airgap"),
        datastore="etcd",
        inventory="/x/hosts.yml",
        members=members,
        runs=[Run("bootstrap", f"2026-11-30T10:0{i}:00Z", i != 6, f"ok={i}") for i in range(runs)],
    )


PI = HostFacts(
    pi_model="Raspberry Pi 4 Model B Rev 1.5",
    temperature_c=48.3,
    throttling=Throttling("0x50000", [], ["under-voltage", "throttled"]),
    disks=[Disk("/", "/", 70000, 250000)],
    uptime_s=3600.0,
)


@pytest.fixture
def fake_hosts(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """Doubles for SSH and the API port: ``behaviour[host]`` is HostFacts or an error
    text; ``pings[address]`` is (answers, detail)."""
    behaviour: dict[str, Any] = {}
    pings: dict[str, tuple[bool, str]] = {}

    def read_host(name: str, hostvars: dict, *, server: bool, config: Any) -> HostFacts:
        got = behaviour[name]
        if isinstance(got, str):
            raise hosts.HostUnreadable(got)
        return got

    monkeypatch.setattr(hosts, "read_host", read_host)
    monkeypatch.setattr(api, "ping", lambda address, port=6443: pings[address])
    return {"hosts": behaviour, "pings": pings}


def valid(report: status.StatusReport) -> dict[str, Any]:
    data = json.loads(json.dumps(report.to_dict()))
    jsonschema.Draft202012Validator(
        schemas.load("status"), format_checker=jsonschema.FormatChecker()
    ).validate(data)
    return data


def test_healthy_cluster_rows_api_and_newest_runs(fake_hosts: dict, tmp_path: Path) -> None:
    server = HostFacts(**{**PI.__dict__, "node_list": (0, NODES_JSON)})
    fake_hosts["hosts"].update({"pi-1": server, "pi-2": PI, "pi-3": "ssh: connect timed out"})
    fake_hosts["pings"]["10.0.0.1"] = (True, "pong in 3 ms")
    report = status.gather(inventory(), cluster_state(), tmp_path / "hosts.yml")
    data = valid(report)
    rows = {n["hostname"]: n for n in data["nodes"]}
    assert list(rows) == ["pi-1", "pi-2", "pi-3", "pi-4"]
    assert rows["pi-1"]["ready"] == "True" and rows["pi-1"]["k3s_version"] == "v1.31.4+k3s1"
    assert rows["pi-1"]["joined"] == "2026-11-30T10:00:00Z"
    assert rows["pi-2"]["ready"] == "not registered" and rows["pi-2"]["reachable"] is True
    assert rows["pi-3"]["reachable"] is False and rows["pi-3"]["error"] == "ssh: connect timed out"
    assert rows["pi-3"]["pi_model"] is None and rows["pi-3"]["disks"] == []
    assert rows["pi-4"]["reachable"] is None and rows["pi-4"]["role"] == "agent"
    assert rows["pi-4"]["error"] == "not in the inventory: not probed"
    assert data["api"]["answers"] is True and data["api"]["answered_by"] == "pi-1"
    assert data["api"]["node_list_from"] == "pi-1" and data["api"]["node_list_error"] is None
    assert [r["started"] for r in data["runs"]] == [
        f"2026-11-30T10:0{i}:00Z" for i in (6, 5, 4, 3, 2)
    ]
    assert data["runs"][0]["ok"] is False
    assert data["remembered"] is True and data["notes"] == []


def test_api_down_leaves_ready_unknown_and_says_why(fake_hosts: dict, tmp_path: Path) -> None:
    refused = "The connection to the server 127.0.0.1:6443 was refused"
    server = HostFacts(**{**PI.__dict__, "node_list": (1, refused + "\n")})
    fake_hosts["hosts"].update({"pi-1": server, "pi-2": PI, "pi-3": PI})
    fake_hosts["pings"]["10.0.0.1"] = (False, "connection refused (nothing listens on the port)")
    data = valid(status.gather(inventory(), cluster_state(), tmp_path / "hosts.yml"))
    assert data["api"]["answers"] is False and data["api"]["answered_by"] is None
    assert data["api"]["node_list_error"] == f"pi-1: {refused}"
    assert all(n["ready"] is None and n["k3s_version"] is None for n in data["nodes"])
    assert {n["hostname"] for n in data["nodes"]} == {"pi-1", "pi-2", "pi-3"}


def test_unreachable_server_gives_no_node_list(fake_hosts: dict, tmp_path: Path) -> None:
    fake_hosts["hosts"].update({"pi-1": "no route to host", "pi-2": PI, "pi-3": PI})
    fake_hosts["pings"]["10.0.0.1"] = (False, "no answer (timeout)")
    data = valid(status.gather(inventory(), cluster_state(), tmp_path / "hosts.yml"))
    assert data["api"]["node_list_error"] == "pi-1: unreachable (no route to host)"


def test_a_cluster_pi_k8s_does_not_remember_says_so(fake_hosts: dict, tmp_path: Path) -> None:
    server = HostFacts(**{**PI.__dict__, "node_list": (0, NODES_JSON)})
    fake_hosts["hosts"].update({"pi-1": server})
    fake_hosts["pings"]["10.0.0.1"] = (True, "pong in 1 ms")
    report = status.gather(inventory(agents=()), None, tmp_path / "hosts.yml")
    data = valid(report)
    assert data["remembered"] is False and data["runs"] == [] and data["k3s"] is None
    assert data["api"]["endpoint"] == "https://10.0.0.1:6443"
    assert data["nodes"][0]["joined"] is None
    assert data["notes"] == [
        "pi-k8s has no record of cluster 'lab' (no cluster.json): roles come from the "
        "inventory; no runs and no joined dates."
    ]
    lines = [x for x in status_view(report) if isinstance(x, str)]
    assert lines[-1].startswith("note: pi-k8s has no record of cluster 'lab'")


def test_an_endpoint_that_is_no_server_is_pinged_itself(fake_hosts: dict, tmp_path: Path) -> None:
    inv = inventory(agents=())
    inv.hostvars["pi-1"]["cluster_api_endpoint"] = "10.0.0.250"
    fake_hosts["hosts"]["pi-1"] = PI
    fake_hosts["pings"].update({"10.0.0.1": (True, "pong in 1 ms"), "10.0.0.250": (True, "pong")})
    data = valid(status.gather(inv, None, tmp_path / "hosts.yml"))
    assert data["api"]["endpoint"] == "https://10.0.0.250:6443"
    assert data["api"]["answers"] is True and data["api"]["answered_by"] is None
    assert "not a server's address" in data["api"]["detail"]


def test_an_inventory_without_k3s_groups_is_refused(tmp_path: Path) -> None:
    inv = AnsibleInventory(groups={"all": ["x"]}, hostvars={"x": {}})
    with pytest.raises(SpecError, match="no hosts in group 'server' or 'agent'"):
        status.gather(inv, None, tmp_path / "hosts.yml")


def test_the_schema_rejects_what_it_does_not_describe(fake_hosts: dict, tmp_path: Path) -> None:
    fake_hosts["hosts"].update({"pi-1": PI, "pi-2": PI, "pi-3": PI})
    fake_hosts["pings"]["10.0.0.1"] = (True, "pong")
    data = valid(status.gather(inventory(), cluster_state(), tmp_path / "hosts.yml"))
    validator = jsonschema.Draft202012Validator(schemas.load("status"))
    data["nodes"][0]["ready"] = "yes"
    assert not validator.is_valid(data)
    data["nodes"][0]["ready"] = "True"
    data["nodes"][0]["throttling"] = {"raw": "0x1", "now": ["melted"], "since_boot": []}
    assert not validator.is_valid(data)


# ----------------------------------------------------------------------------- the view


def test_cells_of_an_unreachable_host_and_of_a_pi() -> None:
    row = NodeRow("pi-3", "agent", "10.0.0.3", None, False, error="timed out")
    assert node_cells(row)[-1] == "unreachable: timed out"
    assert node_cells(row)[4] == "?"  # no node list: Ready unknown, not guessed
    assert throttling_text(None) == "-"
    assert throttling_text(Throttling("0x0", [], [])) == "none"
    assert throttling_text(PI.throttling) == "since boot: under-voltage, throttled"
    assert (uptime_text(59), uptime_text(3 * 3600 + 120), uptime_text(2 * 86400 + 7200)) == (
        "0m",
        "3h 2m",
        "2d 2h",
    )


def test_host_data_is_text_on_a_terminal(
    fake_hosts: dict, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    evil = "[/x] [bold]pi"
    fake_hosts["hosts"].update(
        {"pi-1": HostFacts(pi_model=evil, node_list=(1, f"error {evil}")), "pi-2": evil, "pi-3": PI}
    )
    fake_hosts["pings"]["10.0.0.1"] = (False, evil)
    report = status.gather(inventory(), cluster_state(), tmp_path / "hosts.yml")
    buf = io.StringIO()
    term = Console(file=buf, force_terminal=True, width=300, color_system=None, soft_wrap=True)
    monkeypatch.setattr(console, "out", term)
    console.status_report(report)
    text = buf.getvalue()
    assert text.count(evil) >= 4, text  # model, unreachable note, API detail, node list


# ----------------------------------------------------------------------------- SSH and API


def test_status_adds_batch_mode_and_uses_become_only_on_servers() -> None:
    hv = {"ansible_become": True, "ansible_ssh_extra_args": "-o Foo=bar"}
    agent = hosts.ssh_vars(hv, become=False)
    assert agent["ansible_become"] is False
    assert agent["ansible_ssh_extra_args"] == "-o Foo=bar -o BatchMode=yes -o ConnectTimeout=5"
    assert hosts.ssh_vars(hv, become=True)["ansible_become"] is True


def test_the_inventory_port_is_used_and_a_refusal_is_one_line() -> None:
    """Loopback port 1: nothing listens, so ssh's own error comes back as the reason."""
    hv = {"ansible_host": "127.0.0.1", "ansible_port": 1, "ansible_user": "pi"}
    with pytest.raises(hosts.HostUnreadable) as caught:
        hosts.read_host("pi-1", hv, server=False, config=hosts.ansible_config())
    assert "127.0.0.1 port 1: Connection refused" in str(caught.value)


def test_a_non_ssh_connection_is_a_row_error() -> None:
    hv = {"ansible_host": "x", "ansible_connection": "containers.podman.podman"}
    with pytest.raises(hosts.HostUnreadable, match="pi-k8s reads hosts over SSH only"):
        hosts.read_host("pi-1", hv, server=False, config=hosts.ansible_config())


def test_ping_on_a_closed_port_says_nothing_listens() -> None:
    assert api.ping("127.0.0.1", 1) == (False, "connection refused (nothing listens on the port)")
    assert api.endpoint_address("https://10.0.0.1:6443") == ("10.0.0.1", 6443)


# ----------------------------------------------------------------------------- the CLI


def test_cli_json_is_only_json_and_valid(
    fake_hosts: dict, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PI_K8S_STATE_DIR", str(tmp_path / "state"))
    inv = tmp_path / "hosts.yml"
    inv.write_text(
        "all:\n  children:\n    server:\n      hosts:\n        pi-1: {ansible_host: 10.0.0.1}\n"
    )
    fake_hosts["hosts"]["pi-1"] = HostFacts(**{**PI.__dict__, "node_list": (0, NODES_JSON)})
    fake_hosts["pings"]["10.0.0.1"] = (True, "pong in 1 ms")
    result = runner.invoke(app, ["status", "-i", str(inv), "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    jsonschema.Draft202012Validator(schemas.load("status")).validate(data)
    assert data["cluster"] == "pi-k8s" and data["nodes"][0]["ready"] == "True"


def test_cli_watch_needs_a_terminal(tmp_path: Path) -> None:
    result = runner.invoke(app, ["status", "-i", str(tmp_path / "x.yml"), "--watch"])
    assert result.exit_code == 2, result.output
    assert "--watch redraws in place: it needs a terminal" in result.output
    assert "hint: Leave out --watch" in result.output


def test_cli_broken_cluster_json_is_exit_3(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PI_K8S_STATE_DIR", str(tmp_path / "state"))
    bad = tmp_path / "state" / "clusters" / "lab" / "cluster.json"
    bad.parent.mkdir(parents=True)
    bad.write_text("{not json")
    result = runner.invoke(app, ["status", "--cluster", "lab"])
    assert result.exit_code == 3, result.output
    assert "cluster.json cannot be read" in result.output


def test_watch_redraws_on_a_terminal_until_ctrl_c_then_exits_0(tmp_path: Path) -> None:
    """The real command under a pseudo-terminal, over a host on loopback port 1 (nothing
    listens: an unreachable row, fast); SIGINT is what Ctrl-C sends."""
    inv = tmp_path / "hosts.yml"
    inv.write_text(
        "all:\n  children:\n    server:\n      hosts:\n"
        "        pi-1: {ansible_host: 127.0.0.1, ansible_port: 1}\n"
    )
    env = cli_env({"PI_K8S_STATE_DIR": str(tmp_path / "state")})
    primary, secondary = pty.openpty()
    proc = subprocess.Popen(
        [*pi_k8s_command(), "status", "-i", str(inv), "--watch", "--interval", "1"],
        stdin=secondary,
        stdout=secondary,
        stderr=secondary,
        env=env,
    )
    os.close(secondary)
    seen = b""
    deadline = time.monotonic() + 60
    try:
        while seen.count(b"read in") < 2 and time.monotonic() < deadline:
            ready, _, _ = select.select([primary], [], [], 1)
            if ready:
                seen += os.read(primary, 65536)
        proc.send_signal(signal.SIGINT)
        rc = proc.wait(30)
        with contextlib.suppress(OSError):
            while select.select([primary], [], [], 0.5)[0] and (data := os.read(primary, 65536)):
                seen += data
    finally:
        os.close(primary)
        if proc.poll() is None:
            proc.kill()
    text = plain(seen.decode(errors="replace"))
    assert text.count("read in") >= 2, text  # redrawn, not printed once
    assert "unreachable: ssh: connect to host 127.0.0.1 port 1: Connection refused" in text
    assert rc == 0, text
    assert "Traceback" not in text and "Interrupted" not in text


def test_ctrl_c_during_a_read_lets_the_read_finish_then_ends_quietly() -> None:
    """Ctrl-C while a read runs (here: the read sends itself SIGINT) ends the watch after
    that read, without drawing it or raising, and puts Ctrl-C's own handler back."""
    before = signal.getsignal(signal.SIGINT)
    reads, finished = [], []

    def fetch() -> None:
        reads.append(time.monotonic())
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(0.05)  # the handler runs in this thread, between two bytecodes
        finished.append(True)  # not interrupted: a KeyboardInterrupt would skip this

    console.watch_status(fetch, 0.01)
    assert len(reads) == 1
    assert finished == [True]
    assert signal.getsignal(signal.SIGINT) is before
