"""execution-environment.yml: `ansible-builder create` makes the build context offline.

The collection is built from this tree into a copy of the EE's inputs (so nothing is
written into the repository), then `ansible-builder create` writes the context. The test
reads what the image build would use: the collection tarball (the same content as built),
ee/requirements.yml naming it where the Containerfile puts it, community.general, the
Python and system requirements, and the ansible-core the roles are tested with. Building
the image needs a container engine and the network, so no test does that.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tarfile
from pathlib import Path

import yaml

from tests import collection as col

REPO = col.REPO


def test_builder_create_holds_the_collection_and_its_requirements(tmp_path: Path) -> None:
    work = tmp_path / "ee"
    work.mkdir()
    shutil.copy(REPO / "execution-environment.yml", work)
    shutil.copytree(REPO / "ee", work / "ee")
    tarball = col.build(work / "dist")

    proc = subprocess.run(
        [
            str(col.BIN / "ansible-builder"),
            "create",
            "-f",
            "execution-environment.yml",
            "-c",
            "context",
        ],
        cwd=work,
        env=col.clean_env(work),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    context = work / "context"
    build = context / "_build"

    # The collection, byte for byte the one built, where requirements.yml installs it from.
    shipped = build / "collections" / col.TARBALL
    assert shipped.read_bytes() == tarball.read_bytes()
    with tarfile.open(shipped) as tar:
        manifest = json.load(tar.extractfile("MANIFEST.json"))  # type: ignore[arg-type]
    assert manifest["collection_info"]["name"] == "cluster"
    containerfile = (context / "Containerfile").read_text()
    assert "COPY _build /build" in containerfile
    requirements = yaml.safe_load((build / "requirements.yml").read_text())["collections"]
    assert {"name": f"/build/collections/{col.TARBALL}", "type": "file"} in requirements
    # Its collection dependencies, as galaxy.yml declares them.
    deps = {r["name"]: r.get("version") for r in requirements if r.get("type") != "file"}
    assert deps == col.GALAXY["dependencies"]
    # Python and system requirements, and the ansible-core / ansible-runner it installs.
    assert (build / "requirements.txt").read_text() == (REPO / "ee/requirements.txt").read_text()
    assert "openssh-clients" in (build / "bindep.txt").read_text()
    assert 'ANSIBLE_INSTALL_REFS="ansible-core>=2.19,<2.20 ansible-runner>=2.4,<3"' in containerfile
