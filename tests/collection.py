"""Build and install the Ansible collection pik8s.cluster from this tree, as a user would
(`ansible-galaxy collection build`, then `install --offline` into a collections path).

Shared by tests/unit/test_collection.py, tests/unit/test_execution_environment.py and
tests/integration/test_collection_converge.py. Galaxy is unreachable here: the install is
offline, and community.general (the collection's one dependency) is found where the
`ansible` package installed it.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
GALAXY = yaml.safe_load((REPO / "galaxy.yml").read_text())
FQCN = f"{GALAXY['namespace']}.{GALAXY['name']}"
TARBALL = f"{GALAXY['namespace']}-{GALAXY['name']}-{GALAXY['version']}.tar.gz"


def build(dest: Path) -> Path:
    """`ansible-galaxy collection build` of the repository into ``dest``: the tarball."""
    dest.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [str(BIN / "ansible-galaxy"), "collection", "build", "--force", "--output-path", str(dest)],
        cwd=REPO,
        env=clean_env(dest),
        check=True,
        capture_output=True,
        text=True,
    )
    return dest / TARBALL


def install(tarball: Path, collections: Path) -> Path:
    """`ansible-galaxy collection install TARBALL -p COLLECTIONS --offline`: its root."""
    proc = subprocess.run(
        [
            str(BIN / "ansible-galaxy"),
            "collection",
            "install",
            "--offline",
            "-p",
            str(collections),
            str(tarball),
        ],
        cwd=collections.parent,
        env=clean_env(collections.parent),
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return collections / "ansible_collections" / GALAXY["namespace"] / GALAXY["name"]


def clean_env(home: Path, collections: Path | None = None) -> dict[str, str]:
    """The environment of a user outside this repository: none of its Ansible settings
    (no ansible.cfg, roles path or filter path), the venv's tools first on PATH, Ansible's
    home under ``home`` and, when given, ``collections`` as the collections path."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANSIBLE_")}
    env["PATH"] = str(BIN) + os.pathsep + env.get("PATH", "")
    env["ANSIBLE_HOME"] = str(home / ".ansible")
    if collections is not None:
        env["ANSIBLE_COLLECTIONS_PATH"] = str(collections)
    return env
