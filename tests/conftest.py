"""Shared fixtures. ``testbed`` hosts are real podman containers (see pi_k8s.testbed)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from pi_k8s import testbed as tb

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session", autouse=True)
def _private_state_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Every test session keeps its state (keys, runs, tokens) in its own directory."""
    old = os.environ.get("PI_K8S_STATE_DIR")
    state = tmp_path_factory.mktemp("state")
    os.environ["PI_K8S_STATE_DIR"] = str(state)
    yield state
    if old is None:
        os.environ.pop("PI_K8S_STATE_DIR", None)
    else:
        os.environ["PI_K8S_STATE_DIR"] = old


def make_testbed(name: str, subnet: str, nodes: int, others: int = 0) -> Iterator[tb.Testbed]:
    """Bring a named testbed up and always take it down, even when the tests fail."""
    try:
        yield tb.up(nodes, others, name=name, subnet=subnet)
    finally:
        tb.down(name)


@pytest.fixture(scope="session")
def testbed(_private_state_dir: Path) -> Iterator[tb.Testbed]:
    """The session's shared testbed: 3 Pi hosts and 1 non-Pi host on 10.213.14.0/24.

    Tests that change a host must restore it. Tests that need another layout call
    ``make_testbed`` with their own name and subnet.
    """
    yield from make_testbed("pytest", "10.213.14.0/24", nodes=3, others=1)
