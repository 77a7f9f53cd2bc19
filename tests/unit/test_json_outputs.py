"""Every command's --json has a JSON Schema shipped in pi_k8s/schemas, and what the CLI
prints is checked against it.

The whole suite runs with PI_K8S_CHECK_JSON=1 (tests/conftest.py), so each --json a test
reads, here or on the testbed (status, nodes, upgrade, reboot, backup, reset, discover,
verify, testbed), has passed its schema. Here: the schemas themselves, the check, and the
outputs of inventory (real), bootstrap and deploy (their operation replaced by a result of
the real types: their runs need a cluster, see tests/integration).
"""

from __future__ import annotations

import ast
import json
from pathlib import Path

import jsonschema
import pytest
from typer.testing import CliRunner

import pi_k8s
from pi_k8s import console, schemas
from pi_k8s import operations as ops
from pi_k8s.cli import app
from pi_k8s.deploy import DeployResult, WaitResult
from pi_k8s.models import PiHost
from pi_k8s.rollout import RolloutStatus, Target
from pi_k8s.runner import HostStats, RunResult, TaskFailure
from pi_k8s.verify.model import CheckResult, VerifyReport
from pi_k8s.workloads.model import WorkloadChange

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "inventory"
RUN = RunResult(
    "site.yml",
    "successful",
    0,
    Path("/state/runs/20261201-1"),
    hosts={"rpi-1": HostStats(ok=70, changed=3), "rpi-2": HostStats(ok=60, skipped=4)},
    changes={"rpi-1": ["Install k3s", "Start k3s"]},
)


def named_schemas() -> set[str]:
    """The schema names the CLI's code passes: print_json(..., schema=X), day2_command(X)."""
    found = set()
    for path in (Path(pi_k8s.__file__).parent / "cli").glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.Call):
                continue
            name = getattr(node.func, "attr", getattr(node.func, "id", ""))
            if name == "print_json":
                (kw,) = [k for k in node.keywords if k.arg == "schema"]
                if isinstance(kw.value, ast.Constant):
                    found.add(kw.value.value)
            elif name == "day2_command":
                found.add(node.args[0].value)
    return found


def test_every_schema_is_a_valid_draft_2020_12_schema_with_a_title() -> None:
    assert len(schemas.names()) >= 16
    for name in schemas.names():
        schema = schemas.load(name)
        jsonschema.Draft202012Validator.check_schema(schema)
        assert schema["title"].startswith("pi-k8s ") and schema["description"]
        assert schema["$id"].endswith(f"/{name}.schema.json")


def test_every_json_the_cli_prints_names_a_shipped_schema_and_every_schema_is_used() -> None:
    assert named_schemas() == set(schemas.names())


def test_a_mismatch_fails_before_anything_is_printed(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = {"cluster": "lab", "backups": [{"name": "x"}]}
    with pytest.raises(ValueError, match=r"backups/0: 'cluster' is a required property"):
        console.print_json(bad, schema="backup-list")
    assert capsys.readouterr().out == ""
    monkeypatch.delenv(schemas.CHECK_ENV)  # users: printed as it is, never checked
    console.print_json(bad, schema="backup-list")
    assert json.loads(capsys.readouterr().out) == bad


def test_discover_schema_has_every_field_of_a_host() -> None:
    """A field added to PiHost without the schema fails here, not on a user's machine."""
    host = PiHost("10.0.0.5", compatible=["raspberrypi,4-model-b"], sources=["tcp"])
    assert schemas.problems("discover", [host.to_dict()]) == []
    assert set(schemas.load("discover")["items"]["properties"]) == set(host.to_dict())


def test_inventory_json_names_each_role_and_reason(tmp_path: Path) -> None:
    src = FIXTURES / "ha_three_servers"
    out = tmp_path / "hosts.yml"
    args = ["inventory", "--spec", str(src / "spec.yaml"), "--from", str(src / "discovery.json")]
    result = CliRunner().invoke(app, [*args, "-o", str(out), "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)  # stdout holds the JSON alone
    assert schemas.problems("inventory", data) == []
    assert data["inventory"] == str(out) and out.is_file()
    roles = [n["role"] for n in data["nodes"]]
    assert roles.count("server") == 3 and all(n["reason"] for n in data["nodes"])


def test_bootstrap_json_has_the_recap_changes_artifacts_and_verify(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    inventory = tmp_path / "hosts.yml"
    inventory.write_text("all: {}\n")
    report = VerifyReport([CheckResult("rpi-1", "k3s service", "pass", "active")])
    seen = {}

    def fake(**kw: object) -> ops.BootstrapResult:
        hooks = kw["hooks"]
        seen["tables"] = (hooks.on_run, hooks.on_report)
        hooks.step("progress goes to stderr")
        return ops.BootstrapResult(inventory, RUN, report)

    monkeypatch.setattr(ops, "run_bootstrap", fake)
    result = CliRunner().invoke(app, ["bootstrap", "-i", str(inventory), "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert schemas.problems("bootstrap", data) == []
    assert data["run"]["recap"]["rpi-1"]["changed"] == 3
    assert data["run"]["artifacts"] == "/state/runs/20261201-1"
    assert data["verify"]["ok"] is True
    assert "progress goes to stderr" in result.stderr
    # the recap and verify tables are not drawn: the JSON holds them
    assert seen["tables"] == (ops.Hooks().on_run, ops.Hooks().on_report)


def test_bootstrap_check_json_has_no_verify_and_lists_the_failures(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    inventory = tmp_path / "hosts.yml"
    inventory.write_text("all: {}\n")
    run = RunResult(
        "site.yml", "successful", 0, tmp_path, failures=[TaskFailure("rpi-2", "ping", "boom")]
    )
    monkeypatch.setattr(ops, "run_bootstrap", lambda **kw: ops.BootstrapResult(inventory, run))
    result = CliRunner().invoke(app, ["bootstrap", "-i", str(inventory), "--check", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert schemas.problems("bootstrap", data) == []
    assert data["check"] is True and data["verify"] is None
    assert data["run"]["failures"] == [
        {"host": "rpi-2", "task": "ping", "message": "boom", "unreachable": False}
    ]


def test_deploy_json_has_each_workload_and_rollout_but_no_diff(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    inventory = tmp_path / "hosts.yml"
    inventory.write_text("all: {}\n")
    changes = [
        WorkloadChange("web", "pi-k8s-web.yaml", "added", ["rpi-1"], diff="+ password: hunter2"),
        WorkloadChange("old", "pi-k8s-old.yaml", "stale", ["rpi-1"]),
    ]
    waited = WaitResult(
        [RolloutStatus(Target("web", "Deployment", "default", "web"), "ready", "1/1 ready")]
    )
    monkeypatch.setattr(
        ops,
        "run_deploy",
        lambda *a, **kw: ops.DeployOutcome(DeployResult(RUN, changes, False, False), waited),
    )
    spec = tmp_path / "workloads.yaml"
    spec.write_text("workloads: []\n")
    result = CliRunner().invoke(app, ["deploy", "-s", str(spec), "-i", str(inventory), "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert schemas.problems("deploy", data) == []
    assert [w["action"] for w in data["workloads"]] == ["added", "stale"]
    assert data["rollouts"]["statuses"][0]["state"] == "ready"
    assert "hunter2" not in result.stdout
