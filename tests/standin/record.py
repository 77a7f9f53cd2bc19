"""Record real k3s outputs for the stand-in's contract (tests/fixtures/k3s/, issue 16 §4).

Run it where real k3s runs (.github/workflows/e2e.yml does, through
tests/integration/test_real_k3s.py), as root:

    python tests/standin/record.py --out DIR --server-url https://SERVER:6443 \\
        [--via "podman exec SERVER_CONTAINER"] \\
        [--join-via "podman exec SPARE_CONTAINER" --join-k3s /var/tmp/k3s]

It writes to DIR:

- ``version.txt``: ``k3s --version`` on the server;
- ``get-nodes.json``: ``k3s kubectl get nodes -o json`` on the server;
- ``token-format.json``: the shape of ``/var/lib/rancher/k3s/server/token`` (the K10
  prefix, the CA hash's and the secret's length and alphabet), never its value, and what
  ``node-token`` is (k3s makes it a link to ``token``);
- ``wrong-token.json`` (with ``--join-via``): what ``k3s agent`` on a host that runs no
  k3s prints, and its exit code, when its token's CA hash is wrong, and then when it
  has the cluster's CA hash and a wrong secret. Each attempt runs at most ``--wait`` seconds
  (exit code 124 then: still retrying). Only the lines that say why the join failed are
  kept; the cluster's CA hash is replaced by ``<cluster CA hash>``;
- ``manifest.json``: what each file is, the command that made it, the k3s version.

``--via`` and ``--join-via`` are command prefixes (split like a shell would) for a
server and for a spare host that runs no k3s; without ``--via`` commands run here. Every
written file is checked for the server token and its secret before the script exits 0.
"""

from __future__ import annotations

import argparse
import json
import re
import shlex
import subprocess
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

SERVER_TOKEN = "/var/lib/rancher/k3s/server/token"
NODE_TOKEN = "/var/lib/rancher/k3s/server/node-token"
# A K10 token: K10<sha256 of the cluster CA>::<user>:<secret> (k3s pkg/clientaccess/token.go).
_K10 = re.compile(r"^K10(?P<hash>[0-9a-f]+)::(?P<user>[a-z]+):(?P<secret>.+)$")
# Lines of a failed join worth keeping: k3s's logrus lines that name the cause. From
# k3s-io/k3s pkg/clientaccess/token.go: a wrong CA hash fails in validateCAHash with
# "token CA hash does not match the Cluster CA certificate hash: A != B"; a refused request
# fails in get() with "<url>: 401 Unauthorized" (resp.Status). Whether the agent then exits
# (level=fatal) or retries (level=info "Waiting to retrieve agent configuration") is what
# the recording is for.
_WHY = re.compile(
    r"level=(fatal|error)|401|403|Unauthorized|CA hash|token|not authorized", re.IGNORECASE
)
WRONG_SECRET = "pi-k8s-record-wrong-secret"
WRONG_HASH = "0" * 64


@dataclass
class Result:
    returncode: int
    stdout: str
    stderr: str


Run = Callable[[Sequence[str]], Result]


def runner(prefix: str = "", timeout: float = 120) -> Run:
    """Commands through ``prefix`` (e.g. ``podman exec C``), or here when it is empty."""
    head = shlex.split(prefix)

    def run(argv: Sequence[str]) -> Result:
        proc = subprocess.run(
            [*head, *argv], capture_output=True, text=True, timeout=timeout, check=False
        )
        return Result(proc.returncode, proc.stdout, proc.stderr)

    return run


def alphabet(text: str) -> str:
    if re.fullmatch(r"[0-9a-f]+", text):
        return "hex"
    if re.fullmatch(r"[0-9A-Za-z]+", text):
        return "alphanumeric"
    return "printable"


def token_shape(token: str) -> dict[str, object]:
    """What a token looks like, without one character of it."""
    token = token.strip()
    m = _K10.match(token)
    if not m:
        return {"format": "plain", "length": len(token), "alphabet": alphabet(token)}
    return {
        "format": "K10<ca hash>::<user>:<secret>",
        "ca_hash": {"length": len(m["hash"]), "alphabet": alphabet(m["hash"])},
        "user": m["user"],
        "secret": {"length": len(m["secret"]), "alphabet": alphabet(m["secret"])},
    }


def secrets_of(token: str) -> list[str]:
    """The strings no recording may contain: the token and its secret."""
    token = token.strip()
    m = _K10.match(token)
    return [s for s in (token, m["secret"] if m else "") if s]


def redact(text: str, replacements: dict[str, str]) -> str:
    for value, placeholder in replacements.items():
        if value:
            text = text.replace(value, placeholder)
    return text


def why_lines(log: str) -> list[str]:
    """The lines that say why a join failed, each once, in order."""
    seen: list[str] = []
    for line in log.splitlines():
        line = line.strip()
        if line and _WHY.search(line) and line not in seen:
            seen.append(line)
    return seen


def wrong_token_attempts(
    join: Run, k3s: str, server_url: str, ca_hash: str, wait: int
) -> dict[str, dict[str, object]]:
    """`k3s agent` with a wrong CA hash, then a wrong secret, on a host that runs no k3s."""
    # The CA hash is checked first, against /cacerts, before the agent starts anything;
    # a wrong secret may get further (and leave processes behind), so it goes last.
    attempts = {
        "wrong-ca-hash": f"K10{WRONG_HASH}::server:{WRONG_SECRET}",
        "wrong-secret": f"K10{ca_hash}::server:{WRONG_SECRET}",
    }
    out: dict[str, dict[str, object]] = {}
    for name, token in attempts.items():
        argv = [
            "timeout", str(wait), k3s, "agent", "--server", server_url, "--token", token,
            "--data-dir", f"/var/tmp/pi-k8s-record-{name}", "--node-name", f"pi-k8s-record-{name}",
        ]  # fmt: skip
        res = join(argv)
        lines = why_lines(res.stdout + "\n" + res.stderr)
        out[name] = {
            "token": redact(token, {ca_hash: "<cluster CA hash>"}),
            "exit_code": res.returncode,
            "lines": [redact(x, {ca_hash: "<cluster CA hash>"}) for x in lines],
        }
    return out


def record(
    run: Run,
    server_url: str,
    out: Path,
    join: Run | None = None,
    join_k3s: str = "k3s",
    wait: int = 45,
) -> dict[str, object]:
    """Make the recording in ``out``; its manifest. ValueError when a command fails or a
    secret would be written."""

    def must(argv: list[str]) -> str:
        res = run(argv)
        if res.returncode != 0:
            raise ValueError(f"{' '.join(argv)}: exit {res.returncode}: {res.stderr.strip()}")
        return res.stdout

    version = must(["k3s", "--version"])
    nodes = must(["k3s", "kubectl", "get", "nodes", "-o", "json"])
    json.loads(nodes)  # a JSON document, or this raises
    token = must(["cat", SERVER_TOKEN]).strip()
    link = run(["readlink", NODE_TOKEN])
    shape = {
        "server_token": token_shape(token),
        "node_token": (
            {"symlink_to": link.stdout.strip()}
            if link.returncode == 0
            else token_shape(must(["cat", NODE_TOKEN]))
        ),
    }
    files: dict[str, dict[str, str]] = {
        "version.txt": {"command": "k3s --version", "text": version},
        "get-nodes.json": {"command": "k3s kubectl get nodes -o json", "text": nodes},
        "token-format.json": {
            "command": f"cat {SERVER_TOKEN} (shape only); readlink {NODE_TOKEN}",
            "text": json.dumps(shape, indent=1) + "\n",
        },
    }
    if join is not None:
        m = _K10.match(token)
        attempts = wrong_token_attempts(join, join_k3s, server_url, m["hash"] if m else "", wait)
        files["wrong-token.json"] = {
            "command": "timeout WAIT k3s agent --server URL --token <wrong> (a host without k3s)",
            "text": json.dumps(attempts, indent=1) + "\n",
        }
    first = version.splitlines()[0] if version else ""
    manifest = {
        "recorded_by": "tests/standin/record.py",
        "k3s_version": first,
        "files": {name: f["command"] for name, f in files.items()},
    }
    files["manifest.json"] = {"command": "", "text": json.dumps(manifest, indent=1) + "\n"}
    write_recording(out, {name: f["text"] for name, f in files.items()}, secrets_of(token))
    return manifest


def write_recording(out: Path, texts: dict[str, str], secrets: list[str]) -> None:
    """Write each file; refuse (ValueError, nothing written) if one holds a secret."""
    leaks = sorted(name for name, text in texts.items() for s in secrets if s and s in text)
    if leaks:
        raise ValueError(f"not written: the token would appear in {', '.join(leaks)}")
    out.mkdir(parents=True, exist_ok=True)
    for name, text in texts.items():
        (out / name).write_text(text)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--server-url", required=True, help="https://SERVER:6443")
    p.add_argument("--via", default="", help="command prefix to reach a server")
    p.add_argument("--join-via", default=None, help="command prefix to reach a host without k3s")
    p.add_argument("--join-k3s", default="k3s", help="the k3s binary on that host")
    p.add_argument("--wait", type=int, default=45, help="seconds per wrong-token attempt")
    args = p.parse_args(argv)
    join = runner(args.join_via, timeout=args.wait + 30) if args.join_via is not None else None
    try:
        manifest = record(
            runner(args.via), args.server_url, args.out, join, args.join_k3s, args.wait
        )
    except (ValueError, OSError, subprocess.TimeoutExpired) as exc:
        print(f"record: {exc}", file=sys.stderr)
        return 1
    print(json.dumps(manifest, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
