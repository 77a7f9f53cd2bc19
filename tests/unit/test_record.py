"""tests/standin/record.py's pure parts, with fake command output (issue 16 §4).

The script itself runs where real k3s runs (e2e.yml). Here a fake runner answers the
commands it sends with output in k3s's shapes, so the file layout, the token's shape and
its redaction are checked without k3s.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests" / "standin"))

import record  # noqa: E402  (tests/standin/record.py, not a package)

CA_HASH = "ab" * 32
SECRET = "0123456789abcdef0123456789abcdef"
TOKEN = f"K10{CA_HASH}::server:{SECRET}"
NODES = {"apiVersion": "v1", "kind": "List", "items": [{"metadata": {"name": "rpi-1"}}]}
VERSION = "k3s version v1.31.4+k3s1 (a562d090)\ngo version go1.22.9\n"


class Fake:
    """Answers the commands record.py sends, and keeps them."""

    def __init__(self, answers: dict[str, record.Result]) -> None:
        self.answers = answers
        self.calls: list[list[str]] = []

    def __call__(self, argv: Sequence[str]) -> record.Result:
        self.calls.append(list(argv))
        line = " ".join(argv)
        for start, result in self.answers.items():
            if line.startswith(start):
                return result
        return record.Result(127, "", f"not faked: {line}")


def server(token: str = TOKEN) -> Fake:
    return Fake(
        {
            "k3s --version": record.Result(0, VERSION, ""),
            "k3s kubectl get nodes -o json": record.Result(0, json.dumps(NODES), ""),
            f"cat {record.SERVER_TOKEN}": record.Result(0, token + "\n", ""),
            f"readlink {record.NODE_TOKEN}": record.Result(
                0, "/var/lib/rancher/k3s/server/token\n", ""
            ),
        }
    )


def joiner() -> Fake:
    """A host without k3s: the agent logs the failure (shapes as k3s logs them)."""
    log_401 = (
        'time="2025-01-01T00:00:00Z" level=info msg="Starting k3s agent v1.31.4+k3s1"\n'
        'time="2025-01-01T00:00:01Z" level=info msg="Waiting to retrieve agent configuration; '
        "server is not ready: failed to retrieve configuration from server: "
        'https://10.213.109.2:6443/v1-k3s/config: 401 Unauthorized"\n'
    ) * 2
    log_hash = (
        'time="2025-01-01T00:00:00Z" level=fatal msg="Error: failed to validate token: token '
        f"CA hash does not match the Cluster CA certificate hash: {record.WRONG_HASH} != "
        f'{CA_HASH}"\n'
    )
    return Fake(
        {
            f"timeout 5 k3s agent --server https://s:6443 --token K10{CA_HASH}": record.Result(
                124, "", log_401
            ),
            f"timeout 5 k3s agent --server https://s:6443 --token K10{record.WRONG_HASH}": (
                record.Result(1, "", log_hash)
            ),
        }
    )


def test_token_shape_says_the_form_and_never_a_character_of_it() -> None:
    shape = record.token_shape(TOKEN + "\n")
    assert shape == {
        "format": "K10<ca hash>::<user>:<secret>",
        "ca_hash": {"length": 64, "alphabet": "hex"},
        "user": "server",
        "secret": {"length": 32, "alphabet": "hex"},
    }
    assert SECRET not in json.dumps(shape) and CA_HASH not in json.dumps(shape)
    assert record.token_shape("s3cr3tTOKEN") == {
        "format": "plain",
        "length": 11,
        "alphabet": "alphanumeric",
    }
    assert record.secrets_of(TOKEN) == [TOKEN, SECRET]


def test_a_recording_has_each_file_and_no_secret(tmp_path: Path) -> None:
    run, join = server(), joiner()
    manifest = record.record(run, "https://s:6443", tmp_path / "rec", join, wait=5)
    out = tmp_path / "rec"
    assert sorted(p.name for p in out.iterdir()) == [
        "get-nodes.json",
        "manifest.json",
        "token-format.json",
        "version.txt",
        "wrong-token.json",
    ]
    assert (out / "version.txt").read_text() == VERSION
    assert json.loads((out / "get-nodes.json").read_text()) == NODES
    assert json.loads((out / "token-format.json").read_text())["node_token"] == {
        "symlink_to": "/var/lib/rancher/k3s/server/token"
    }
    assert manifest["k3s_version"] == "k3s version v1.31.4+k3s1 (a562d090)"
    assert json.loads((out / "manifest.json").read_text()) == manifest
    assert set(manifest["files"]) == {p.name for p in out.iterdir()} - {"manifest.json"}
    for f in out.iterdir():
        assert SECRET not in f.read_text(), f.name
    wrong = json.loads((out / "wrong-token.json").read_text())
    assert wrong["wrong-secret"]["exit_code"] == 124
    assert wrong["wrong-secret"]["token"] == (f"K10<cluster CA hash>::server:{record.WRONG_SECRET}")
    assert len(wrong["wrong-secret"]["lines"]) == 1  # the repeated retry line, once
    assert "401 Unauthorized" in wrong["wrong-secret"]["lines"][0]
    assert wrong["wrong-ca-hash"]["exit_code"] == 1
    assert wrong["wrong-ca-hash"]["lines"] == [
        'time="2025-01-01T00:00:00Z" level=fatal msg="Error: failed to validate token: token '
        f"CA hash does not match the Cluster CA certificate hash: {record.WRONG_HASH} != "
        '<cluster CA hash>"'
    ]
    # The agent ran with its own data dir and node name, never the real token.
    for call in join.calls:
        assert call[:2] == ["timeout", "5"] and "--data-dir" in call
        assert SECRET not in " ".join(call)


def test_without_a_spare_host_there_is_no_wrong_token_file(tmp_path: Path) -> None:
    manifest = record.record(server(), "https://s:6443", tmp_path)
    assert "wrong-token.json" not in manifest["files"]
    assert not (tmp_path / "wrong-token.json").exists()


def test_a_secret_in_any_output_writes_nothing(tmp_path: Path) -> None:
    leaky = server()
    leaky.answers["k3s kubectl get nodes -o json"] = record.Result(
        0, json.dumps({"items": [], "note": SECRET}), ""
    )
    with pytest.raises(ValueError, match=r"token would appear in get-nodes\.json"):
        record.record(leaky, "https://s:6443", tmp_path / "rec")
    assert not (tmp_path / "rec").exists()


def test_a_failed_command_is_named(tmp_path: Path) -> None:
    broken = server()
    broken.answers["k3s --version"] = record.Result(1, "", "k3s: not found")
    with pytest.raises(ValueError, match="k3s --version: exit 1: k3s: not found"):
        record.record(broken, "https://s:6443", tmp_path)


def test_the_runner_puts_its_prefix_first(tmp_path: Path) -> None:
    res = record.runner("sh -c 'echo \"$0 $@\"'")(["a", "b"])
    assert (res.returncode, res.stdout) == (0, "a b\n")
