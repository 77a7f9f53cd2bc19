"""The podman command line, as the container testbed and its image use it."""

from __future__ import annotations

import json
import subprocess

from pi_k8s.errors import TestbedError

LABEL = "pi-k8s.testbed"


def podman(*args: str, check: bool = True, input_bytes: bytes | None = None) -> str:
    try:
        proc = subprocess.run(
            ["podman", *args], input=input_bytes, capture_output=True, check=False
        )
    except FileNotFoundError as exc:
        raise TestbedError(
            "podman is not installed.",
            hint="Install it with `apt-get install podman runc` (the Makefile's `deps` does).",
        ) from exc
    if check and proc.returncode != 0:
        err = proc.stderr.decode(errors="replace").strip()
        raise TestbedError(f"podman {args[0]} failed: {err}")
    return proc.stdout.decode(errors="replace")


def container_exists(container: str) -> bool:
    return subprocess.run(["podman", "container", "exists", container], check=False).returncode == 0


def list_containers(testbed: str) -> list[dict[str, object]]:
    out = podman("ps", "-a", "--filter", f"label={LABEL}={testbed}", "--format", "json")
    return json.loads(out or "[]")
