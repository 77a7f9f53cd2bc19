"""k3s_kubeconfig's merge into ~/.kube/config, run for real on localhost (no test hosts).

The role's configure.yml is included with a kubeconfig already fetched and renamed, as
preflight.yml leaves it; the merge must keep other clusters, replace a stale entry of the
same name, keep the user's current context, write 0600 and be idempotent.
"""

from __future__ import annotations

import stat
import subprocess
from pathlib import Path

import yaml

from tests.local_playbook import run_local_playbook

REPO = Path(__file__).resolve().parents[2]

EXISTING = {
    "apiVersion": "v1",
    "kind": "Config",
    "clusters": [
        {"name": "other", "cluster": {"server": "https://192.0.2.4:6443"}},
        {"name": "homelab", "cluster": {"server": "https://stale:6443"}},
    ],
    "users": [{"name": "other", "user": {"token": "abc"}}],
    "contexts": [{"name": "other", "context": {"cluster": "other", "user": "other"}}],
    "current-context": "other",
}


def _run(tmp: Path) -> subprocess.CompletedProcess[str]:
    play = [
        {
            "hosts": "localhost",
            "connection": "local",
            "gather_facts": False,
            "vars": {
                "k3s_kubeconfig_name": "homelab",
                "k3s_kubeconfig_dir": str(tmp / "kube"),
                "k3s_kubeconfig_merge": True,
                "k3s_kubeconfig_merge_path": str(tmp / "kube" / "config"),
                "k3s_kubeconfig_path": str(tmp / "kube" / "homelab.yaml"),
                "_k3s_kubeconfig_content": {
                    "apiVersion": "v1",
                    "kind": "Config",
                    "preferences": {},
                    "clusters": [
                        {"name": "homelab", "cluster": {"server": "https://192.0.2.10:6443"}}
                    ],
                    "users": [{"name": "homelab", "user": {"client-key-data": "S0VZ"}}],
                    "contexts": [
                        {"name": "homelab", "context": {"cluster": "homelab", "user": "homelab"}}
                    ],
                    "current-context": "homelab",
                },
            },
            "tasks": [
                {
                    "ansible.builtin.include_tasks": str(
                        REPO / "roles/k3s_kubeconfig/tasks/configure.yml"
                    )
                }
            ],
        }
    ]
    return run_local_playbook(play, tmp)


def test_merge_keeps_others_and_is_idempotent(tmp_path: Path) -> None:
    kube = tmp_path / "kube"
    kube.mkdir()
    (kube / "config").write_text(yaml.safe_dump(EXISTING))
    first = _run(tmp_path)
    assert first.returncode == 0, first.stdout + first.stderr
    merged = yaml.safe_load((kube / "config").read_text())
    assert [c["name"] for c in merged["clusters"]] == ["other", "homelab"]
    assert merged["clusters"][1]["cluster"]["server"] == "https://192.0.2.10:6443"
    assert [u["name"] for u in merged["users"]] == ["other", "homelab"]
    assert [c["name"] for c in merged["contexts"]] == ["other", "homelab"]
    assert merged["current-context"] == "other"
    for name in ("config", "homelab.yaml"):
        assert stat.S_IMODE((kube / name).stat().st_mode) == 0o600, name
    second = _run(tmp_path)
    assert second.returncode == 0
    assert "changed=0" in second.stdout, second.stdout


def test_merge_into_no_config_sets_the_context(tmp_path: Path) -> None:
    result = _run(tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    merged = yaml.safe_load((tmp_path / "kube" / "config").read_text())
    assert merged["current-context"] == "homelab"
    assert [c["name"] for c in merged["clusters"]] == ["homelab"]
