"""testinfra fixtures shared by the molecule scenarios.

Molecule hands testinfra its Ansible inventory, whose hosts use the podman connection.
testinfra's ``ansible://`` backend then makes one Ansible call per command (about 10x
slower) and strips trailing newlines from file contents, so every host is reached
directly with ``podman://<container>`` instead (see docs/testing.md, "Molecule scenarios").
"""

from __future__ import annotations

import json
import os
from typing import Any

import pytest
import testinfra
from testinfra.utils.ansible_runner import AnsibleRunner


@pytest.fixture(scope="session")
def inventory() -> AnsibleRunner:
    return AnsibleRunner(os.environ["MOLECULE_INVENTORY_FILE"])


@pytest.fixture(scope="module")
def host(_testinfra_host: Any) -> Any:
    """The host under test, reached with ``podman exec``."""
    return testinfra.get_host(f"podman://{_testinfra_host.backend.host}")


def nodes_json(host: Any) -> dict[str, Any]:
    """``k3s kubectl get nodes -o json`` on ``host``, parsed."""
    cmd = host.run("k3s kubectl get nodes -o json")
    assert cmd.rc == 0, cmd.stderr
    return json.loads(cmd.stdout)
