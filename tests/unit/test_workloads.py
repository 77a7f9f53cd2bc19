"""Workloads spec: rendering the shipped examples, Helm charts, variables and the --check plan."""

from __future__ import annotations

import base64
import io
import stat
import tarfile
from pathlib import Path

import pytest
import yaml

from pi_k8s import deploy, workloads

REPO = Path(__file__).resolve().parent.parent.parent


def test_the_examples_render_to_one_file_each_with_the_header() -> None:
    rendered = workloads.load(REPO / "examples/workloads.yaml", {"cluster_name": "pis"})
    assert [w.filename for w in rendered.workloads] == [
        "pi-k8s-hello-web.yaml",
        "pi-k8s-node-exporter.yaml",
    ]
    assert rendered.warnings == []
    web, chart = rendered.workloads
    assert web.content.startswith(workloads.HEADER)
    docs = list(yaml.safe_load_all(web.content))
    assert [(d["kind"], d["metadata"]["name"]) for d in docs] == [
        ("Deployment", "hello-web"),
        ("Service", "hello-web"),
    ]
    assert docs[0]["spec"]["replicas"] == 2
    # A LoadBalancer Service: servicelb answers on the nodes, MetalLB from cluster_lb_pool.
    assert docs[1]["spec"]["type"] == "LoadBalancer"
    assert docs[0]["metadata"]["labels"]["app.kubernetes.io/part-of"] == "pis"
    helm = next(yaml.safe_load_all(chart.content))
    assert helm["apiVersion"] == "helm.cattle.io/v1" and helm["kind"] == "HelmChart"
    assert helm["metadata"] == {"name": "node-exporter", "namespace": "kube-system"}
    assert helm["spec"]["version"] == "4.39.0"
    assert helm["spec"]["targetNamespace"] == "monitoring"
    assert yaml.safe_load(helm["spec"]["valuesContent"])["tolerations"] == [{"operator": "Exists"}]


def test_rendering_is_stable_so_a_second_deploy_changes_nothing() -> None:
    a = workloads.load(REPO / "examples/workloads.yaml", {"cluster_name": "pis"})
    b = workloads.load(REPO / "examples/workloads.yaml", {"cluster_name": "pis"})
    assert [w.content for w in a.workloads] == [w.content for w in b.workloads]


def test_command_line_vars_win_over_the_spec_and_inventory(tmp_path: Path) -> None:
    inv = tmp_path / "hosts.yml"
    inv.write_text(
        "all:\n  children:\n    k3s_cluster:\n      vars: {cluster_name: lab, other: x}\n"
        "      children: {server: {hosts: {a: {}}}}\n"
    )
    assert deploy.inventory_variables(inv) == {"cluster_name": "lab"}
    rendered = deploy.prepare(REPO / "examples/workloads.yaml", inv, ["hello_replicas=4"])
    dep = next(yaml.safe_load_all(rendered.workloads[0].content))
    assert dep["spec"]["replicas"] == 4
    assert dep["metadata"]["labels"]["app.kubernetes.io/part-of"] == "lab"


def _chart_tgz(path: Path) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        data = b"apiVersion: v2\nname: tiny\nversion: 0.1.0\n"
        info = tarfile.TarInfo("tiny/Chart.yaml")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    path.write_bytes(buf.getvalue())
    return buf.getvalue()


def test_a_packaged_chart_travels_inline_as_chart_content(tmp_path: Path) -> None:
    raw = _chart_tgz(tmp_path / "tiny-0.1.0.tgz")
    (tmp_path / "w.yaml").write_text(
        "workloads:\n  - name: tiny\n    helm:\n      chartContent: tiny-0.1.0.tgz\n"
        "      targetNamespace: apps\n      valuesContent: |\n        replicas: 1\n"
    )
    (w,) = workloads.load(tmp_path / "w.yaml").workloads
    spec = next(yaml.safe_load_all(w.content))["spec"]
    assert base64.b64decode(spec["chartContent"]) == raw
    assert "chart" not in spec and "repo" not in spec
    assert spec["valuesContent"] == "replicas: 1\n"


def test_a_custom_resource_is_checked_for_the_basics_and_warned_about(tmp_path: Path) -> None:
    (tmp_path / "cr.yaml").write_text(
        "apiVersion: traefik.io/v1alpha1\nkind: Middleware\nmetadata: {name: strip}\n"
        "spec: {stripPrefix: {prefixes: [/api]}}\n"
    )
    (tmp_path / "w.yaml").write_text("workloads: [{name: mw, manifests: cr.yaml}]\n")
    rendered = workloads.load(tmp_path / "w.yaml")
    assert len(rendered.warnings) == 1
    assert "no schema for Middleware (traefik.io/v1alpha1)" in rendered.warnings[0]


def _rendered(**contents: str) -> workloads.Rendered:
    return workloads.Rendered(
        "s", [workloads.RenderedWorkload(n, c, [], []) for n, c in contents.items()]
    )


def test_plan_reports_added_changed_unchanged_and_stale_per_server() -> None:
    rendered = _rendered(web="# Managed by pi-k8s\nnew\n", db="# Managed by pi-k8s\nsame\n")
    current = {
        "s1": {
            "pi-k8s-web.yaml": "# Managed by pi-k8s\nold\n",
            "pi-k8s-db.yaml": "# Managed by pi-k8s\nsame\n",
            "pi-k8s-gone.yaml": "# Managed by pi-k8s\nx\n",
        },
        "s2": {"pi-k8s-db.yaml": "# Managed by pi-k8s\nsame\n"},
    }
    plan = workloads.plan(rendered, current, prune=False)
    got = [(c.name, c.action, c.hosts) for c in plan]
    assert got == [
        ("web", "changed", ["s1"]),
        ("web", "added", ["s2"]),
        ("db", "unchanged", ["s1", "s2"]),
        ("gone", "stale", ["s1"]),
    ]
    assert "-old\n+new\n" in plan[0].diff
    pruned = workloads.plan(rendered, current, prune=True)
    assert (pruned[-1].action, pruned[-1].hosts) == ("removed", ["s1"])
    assert "-x\n" in pruned[-1].diff


def _secret_file(tmp_path: Path, secret: dict[str, object], motd: str) -> str:
    """A workload file as pi-k8s renders it: a Secret and a ConfigMap."""
    (tmp_path / "m.yaml").write_text(
        yaml.safe_dump_all(
            [
                {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "creds"}, **secret},
                {
                    "apiVersion": "v1",
                    "kind": "ConfigMap",
                    "metadata": {"name": "notes"},
                    "data": {"motd": motd},
                },
            ]
        )
    )
    (tmp_path / "w.yaml").write_text("workloads: [{name: app, manifests: [m.yaml]}]\n")
    return workloads.load(tmp_path / "w.yaml").workloads[0].content


def test_check_diff_shows_which_secret_keys_change_and_never_a_value(tmp_path: Path) -> None:
    old = _secret_file(
        tmp_path,
        {"data": {"kept": "S0VQVA==", "edited": "T0xE", "dropped": "R09ORQ=="}},
        "hello",
    )
    new = _secret_file(
        tmp_path,
        {"data": {"kept": "S0VQVA==", "edited": "TkVX", "fresh": "TkVXS0VZ"}},
        "changed",
    )
    (change,) = workloads.plan(
        _rendered_file("app", new), {"s1": {"pi-k8s-app.yaml": old}}, prune=False
    )
    assert change.action == "changed"
    lines = change.diff.splitlines()
    assert " data:" in lines
    assert "   kept: (hidden)" in lines
    assert "-  edited: (hidden, old value)" in lines
    assert "+  edited: (hidden, new value)" in lines
    assert "-  dropped: (hidden)" in lines
    assert "+  fresh: (hidden)" in lines
    # Everything else is shown as before, and the header is kept.
    assert "-  motd: hello" in lines and "+  motd: changed" in lines
    assert "+++ rendered:pi-k8s-app.yaml" in lines
    # Only the values differ from the files: same header, same lines otherwise.
    shown_old, shown_new = workloads.hide_secrets(old, new)
    for shown, real in ((shown_old, old), (shown_new, new)):
        pairs = list(zip(shown.splitlines(), real.splitlines(), strict=True))
        assert [a for a, b in pairs if a != b] == [
            a for a in shown.splitlines() if a.startswith("  ") and "(hidden" in a
        ]
    for value in ("S0VQVA==", "T0xE", "TkVX", "R09ORQ==", "TkVXS0VZ"):
        assert value not in change.diff


def test_string_data_is_hidden_too_in_added_and_removed_files(tmp_path: Path) -> None:
    content = _secret_file(tmp_path, {"stringData": {"password": "pa55"}}, "hi")
    (added,) = workloads.plan(_rendered_file("app", content), {"s1": {}}, prune=False)
    assert "+  password: (hidden)\n" in added.diff and "pa55" not in added.diff
    (removed,) = workloads.plan(
        workloads.Rendered("s", []), {"s1": {"pi-k8s-app.yaml": content}}, prune=True
    )
    assert "-  password: (hidden)\n" in removed.diff and "pa55" not in removed.diff
    assert "-  motd: hi\n" in removed.diff


def test_a_server_file_that_is_not_yaml_is_not_shown(tmp_path: Path) -> None:
    content = _secret_file(tmp_path, {"stringData": {"password": "pa55"}}, "hi")
    broken = "# Managed by pi-k8s\nstringData: {password: pa55\n"
    (change,) = workloads.plan(
        _rendered_file("app", content), {"s1": {"pi-k8s-app.yaml": broken}}, prune=False
    )
    assert "-# (not valid YAML; not shown, as it may hold a Secret)\n" in change.diff
    assert "pa55" not in change.diff


def _rendered_file(name: str, content: str) -> workloads.Rendered:
    return workloads.Rendered("s", [workloads.RenderedWorkload(name, content, [], [])])


def test_the_run_inputs_are_private_while_the_run_lasts_and_gone_after_it(tmp_path: Path) -> None:
    """The vars file and reports hold every manifest; a failed run must not leave them either."""
    seen = {}
    with (
        pytest.raises(RuntimeError),
        deploy._private_inputs(tmp_path, {"k": "v"}) as (
            vars_file,
            report_dir,
        ),
    ):
        seen["vars"] = stat.S_IMODE(vars_file.stat().st_mode)
        seen["report"] = stat.S_IMODE(report_dir.stat().st_mode)
        seen["data"] = yaml.safe_load(vars_file.read_text())
        (report_dir / "rpi-1.json").write_text("{}")
        raise RuntimeError("the playbook run broke off")
    assert seen == {
        "vars": 0o600,
        "report": 0o700,
        "data": {"k": "v", "k3s_workloads_report_dir": str(report_dir)},
    }
    assert list(tmp_path.iterdir()) == []
