"""Private registries: the spec's `registries:`, the inventory's cluster_registries, and
roles/k3s_install's filter that checks it and renders registries.yaml (k3s's format,
docs.k3s.io/installation/private-registry). On hosts: tests/integration/test_registries.py."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

import pytest
import yaml

from pi_k8s.errors import SpecError
from pi_k8s.inventory import build_inventory, load_hosts
from pi_k8s.spec import parse_spec

REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO / "tests" / "fixtures" / "inventory"
SECRET = "hunter2-registry-secret"


def _filters() -> Any:
    spec = importlib.util.spec_from_file_location(
        "k3s_registries", REPO / "plugins/filter/k3s_registries.py"
    )
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    (tmp_path / "ca.crt").write_text("CA\n")
    (tmp_path / "pass").write_text(SECRET + "\n")
    monkeypatch.setenv("RGX_TOKEN", "tok-from-env")
    monkeypatch.delenv("RGX_UNSET", raising=False)
    return {"ca": str(tmp_path / "ca.crt"), "pass": str(tmp_path / "pass")}


def _spec(files: dict[str, str]) -> str:
    return f"""
name: lab
registries:
  mirrors:
    docker.io:
      endpoint: [https://mirror.lan:5000]
      rewrite: {{"^rancher/(.*)": "mirror/rancher/$1"}}
  configs:
    mirror.lan:5000:
      tls: {{ca_file: {files["ca"]}, insecure_skip_verify: false}}
      auth: {{username: puller, password_file: {files["pass"]}}}
    other.lan:
      auth: {{token_env: RGX_TOKEN}}
"""


def test_the_spec_becomes_cluster_registries_with_references_only(files: dict[str, str]) -> None:
    spec = parse_spec(_spec(files))
    inv = build_inventory(spec, load_hosts(FIXTURES / "ranking" / "discovery.json"))
    value = inv["all"]["children"]["k3s_cluster"]["vars"]["cluster_registries"]
    assert value == {
        "mirrors": {
            "docker.io": {
                "endpoint": ["https://mirror.lan:5000"],
                "rewrite": {"^rancher/(.*)": "mirror/rancher/$1"},
            }
        },
        "configs": {
            "mirror.lan:5000": {
                "tls": {"ca_file": files["ca"], "insecure_skip_verify": False},
                "auth": {"username": "puller", "password_file": files["pass"]},
            },
            "other.lan": {"auth": {"token_env": "RGX_TOKEN"}},
        },
    }
    assert SECRET not in yaml.safe_dump(inv) and "tok-from-env" not in yaml.safe_dump(inv)
    # The role's own check accepts what the spec wrote.
    assert _filters().k3s_registries_problems(value) == []


def test_no_registries_no_variable() -> None:
    inv = build_inventory(
        parse_spec("name: lab\n"), load_hosts(FIXTURES / "ranking" / "discovery.json")
    )
    assert "cluster_registries" not in inv["all"]["children"]["k3s_cluster"]["vars"]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            "configs: {a.lan: {auth: {username: x, password: SECRETVALUE}}}",
            "registries.configs['a.lan'].auth: password: a secret is never written in the spec; "
            "use password_file",
        ),
        ("configs: {a.lan: {auth: {token: SECRETVALUE}}}", "use token_file"),
        ("configs: {a.lan: {auth: {auth: SECRETVALUE}}}", "use token_file or token_env"),
        (
            "configs: {a.lan: {tls: {ca_file: /nonexistent/ca.crt}}}",
            "registries.configs['a.lan'].tls.ca_file: '/nonexistent/ca.crt' is not a file",
        ),
        (
            "configs: {a.lan: {auth: {token_env: RGX_UNSET}}}",
            "the environment variable RGX_UNSET is not set",
        ),
        (
            "mirrors: {docker.io: {endpoint: [mirror.lan:5000]}}",
            "registries.mirrors['docker.io'].endpoint: "
            "'mirror.lan:5000' is not an http:// or https:// URL",
        ),
        ("mirrors: {'https://x.lan': {endpoint: [https://x.lan]}}", "is not a registry name"),
        ("configs: {a.lan: {auth: {username: x}}}", "set exactly one of password_file"),
        ("configs: {a.lan: {auth: {password_env: RGX_TOKEN}}}", "password_env needs a username"),
        (
            "configs: {a.lan: {tls: {key_file: /etc/hostname}}}",
            "cert_file and key_file go together",
        ),
    ],
)
def test_bad_registries_are_refused_naming_the_field_never_the_secret(
    files: dict[str, str], body: str, message: str
) -> None:
    with pytest.raises(SpecError) as err:
        parse_spec(f"name: lab\nregistries: {{{body}}}\n")
    assert message in str(err.value)
    assert "SECRETVALUE" not in str(err.value) + str(err.value.hint)
    assert "password_file or password_env" in str(err.value.hint)


def test_the_filter_renders_k3s_format_reading_secrets_on_the_controller(
    files: dict[str, str],
) -> None:
    f = _filters()
    regs = {
        "mirrors": {"docker.io": {"endpoint": ["https://mirror.lan:5000"]}},
        "configs": {
            "mirror.lan:5000": {
                "tls": {"ca_file": files["ca"], "insecure_skip_verify": True},
                "auth": {"username": "puller", "password_file": files["pass"]},
            },
            "*": {"auth": {"token_env": "RGX_TOKEN"}},
        },
    }
    d = "/etc/rancher/k3s/registries.d"
    assert f.k3s_registries_yaml(regs, d) == {
        "mirrors": {"docker.io": {"endpoint": ["https://mirror.lan:5000"]}},
        "configs": {
            "mirror.lan:5000": {
                "auth": {"username": "puller", "password": SECRET},
                "tls": {"ca_file": f"{d}/mirror.lan_5000/ca.crt", "insecure_skip_verify": True},
            },
            "*": {"auth": {"auth": "tok-from-env"}},
        },
    }
    assert f.k3s_registries_files(regs, d) == [
        {"src": files["ca"], "dest": f"{d}/mirror.lan_5000/ca.crt", "mode": "0644"}
    ]
    assert f.k3s_registries_yaml({}, d) == {}
    client = {"configs": {"c.lan": {"tls": {"cert_file": files["ca"], "key_file": files["pass"]}}}}
    assert f.k3s_registries_files(client, d) == [
        {"src": files["ca"], "dest": f"{d}/c.lan/client.crt", "mode": "0644"},
        {"src": files["pass"], "dest": f"{d}/c.lan/client.key", "mode": "0600"},
    ]
    assert f.k3s_registries_yaml(client, d) == {
        "configs": {
            "c.lan": {
                "tls": {"cert_file": f"{d}/c.lan/client.crt", "key_file": f"{d}/c.lan/client.key"}
            }
        }
    }


def test_the_filter_names_every_problem_of_a_hand_written_inventory(files: dict[str, str]) -> None:
    problems = _filters().k3s_registries_problems(
        {
            "mirrors": {"docker.io": {"endpoint": ["ftp://x"]}, "bad name": {"endpoint": []}},
            "configs": {
                "a.lan": {
                    "tls": {"ca_file": "/nonexistent/ca.crt", "cert_file": files["ca"]},
                    "auth": {"username": "u", "password": "SECRETVALUE"},
                },
                "b.lan": {"auth": {"token_env": "RGX_UNSET"}},
            },
            "extra": 1,
        }
    )
    text = "\n".join(problems)
    assert "SECRETVALUE" not in text
    for part in (
        "unknown key 'extra'",
        "mirrors['docker.io'].endpoint: 'ftp://x' is not an http:// or https:// URL",
        "mirrors['bad name']: not a registry name",
        "mirrors['bad name'].endpoint must be a list of URLs",
        "configs['a.lan'].tls.ca_file: /nonexistent/ca.crt is not a readable file",
        "configs['a.lan'].tls: cert_file and key_file go together",
        "configs['a.lan'].auth.password: a secret is never written in the inventory in clear",
        "configs['b.lan'].auth.token_env: the environment variable RGX_UNSET is not set",
    ):
        assert part in text, text
