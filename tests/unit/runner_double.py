"""ansible_runner.run_async replaced for unit tests: it would start ansible-playbook.

``capture_runs`` records the keyword arguments of each call (envvars, passwords, cmdline)
and answers with a successful, empty run, so ``runner.run_playbook`` returns normally.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest


def capture_runs(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> list[dict[str, Any]]:
    import ansible_runner

    calls: list[dict[str, Any]] = []

    class FakeRunner:
        status, rc, stats, events = "successful", 0, {}, []
        config = type("C", (), {"artifact_dir": str(tmp_path)})()

    def run_async(**kwargs: Any) -> tuple[threading.Thread, FakeRunner]:
        calls.append(kwargs)
        thread = threading.Thread(target=lambda: None)
        thread.start()
        return thread, FakeRunner()

    monkeypatch.setattr(ansible_runner, "run_async", run_async)
    monkeypatch.setenv("PI_K8S_STATE_DIR", str(tmp_path / "state"))
    return calls
