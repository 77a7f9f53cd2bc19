"""The Ansible collection pik8s.cluster, built from this tree and used from outside it.

`ansible-galaxy collection build` from the repository, `ansible-galaxy collection install
--offline` into a temporary collections path, then, from a directory with no ansible.cfg
and none of the repository's Ansible settings, `ansible-playbook pik8s.cluster.<name>
--syntax-check` (which loads every role a play names), and one play that calls the
collection's filter by FQCN. tests/integration/test_collection_converge.py converges a
cluster from the same installed collection.
"""

from __future__ import annotations

import json
import re
import subprocess
import tarfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

import pi_k8s
from pi_k8s import paths
from tests import collection as col

REPO = col.REPO
PLAYBOOKS = ("site", "reset", "deploy", "upgrade")


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Path]]:
    tmp = tmp_path_factory.mktemp("collection")
    tarball = col.build(tmp / "dist")
    collections = tmp / "collections"
    root = col.install(tarball, collections)
    elsewhere = tmp / "elsewhere"
    elsewhere.mkdir()
    yield {"tarball": tarball, "collections": collections, "root": root, "cwd": elsewhere}


def run(built: dict[str, Path], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(col.BIN / args[0]), *args[1:]],
        cwd=built["cwd"],
        env=col.clean_env(built["cwd"], built["collections"]),
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_galaxy_yml_and_the_wheel_share_one_version() -> None:
    assert col.GALAXY["version"] == pi_k8s.__version__
    runtime = yaml.safe_load((REPO / "meta" / "runtime.yml").read_text())
    assert runtime["requires_ansible"] == ">=2.19.0"


def test_tarball_holds_the_content_and_nothing_of_the_package(built: dict[str, Path]) -> None:
    with tarfile.open(built["tarball"]) as tar:
        names = tar.getnames()
        manifest = json.load(tar.extractfile("MANIFEST.json"))  # type: ignore[arg-type]
    top = {n.split("/")[0] for n in names}
    assert top == {
        "MANIFEST.json",
        "FILES.json",
        "README.md",
        "CHANGELOG.md",
        "meta",
        "roles",
        "playbooks",
        "plugins",
        "inventory",
    }
    roles = {p.name for p in (REPO / "roles").iterdir() if p.is_dir()}
    assert {n.split("/")[1] for n in names if n.startswith("roles/") and n.count("/") > 1} == roles
    for playbook in (REPO / "playbooks").glob("*.yml"):
        assert f"playbooks/{playbook.name}" in names
    plugins = [p.relative_to(REPO).as_posix() for p in (REPO / "plugins").glob("*/*.py")]
    assert {"filter", "modules"} <= {p.split("/")[1] for p in plugins}
    assert set(plugins) <= set(names)
    assert "inventory/example.hosts.yml" in names
    # Nothing of the Python package, its tests or the k3s stand-in; no compiled files.
    assert not [n for n in names if "standin" in n or "__pycache__" in n or n.endswith(".pyc")]
    assert manifest["collection_info"]["dependencies"] == {"community.general": ">=9.0.0"}


def test_link_collection_makes_a_collections_path_of_this_tree(tmp_path: Path) -> None:
    """How a checkout (.collections/) and pi-k8s's runs (each run's own dir) find it."""
    where = tmp_path / "collections"
    link = where / "ansible_collections" / "pik8s" / "cluster"
    link.mkdir(parents=True)  # a copy installed there before: replaced by the link
    (link / "galaxy.yml").write_text("old")
    assert paths.link_collection(where) == where
    assert link.is_symlink() and link.resolve() == paths.content_dir().resolve()
    assert paths.link_collection(where) == where  # again: unchanged
    assert (link / "plugins" / "filter" / "k3s_address.py").is_file()


def test_roles_call_their_filters_by_fqcn() -> None:
    """Inside a collection, ansible-core finds a filter by its short name only among its
    own and the configured filter_plugins: the roles call this collection's by FQCN."""
    filters = []
    for plugin in (REPO / "plugins" / "filter").glob("*.py"):
        filters += re.findall(r'"(k3s_\w+)": k3s_', plugin.read_text())
    assert "k3s_api_address" in filters
    short = re.compile(r"(\|\s*|')(" + "|".join(filters) + r")\b")
    for path in [*(REPO / "roles").rglob("*.yml"), *(REPO / "playbooks").glob("*.yml")]:
        assert not short.search(path.read_text()), path


def test_roles_carry_no_plugins_of_their_own() -> None:
    """A role inside a collection does not load its own filter_plugins/ or library/
    (ansible-core adds role plugin directories only for roles outside collections): every
    filter lives in plugins/filter/ and every module in plugins/modules/, which ansible.cfg
    names for checkout and wheel runs."""
    assert not list((REPO / "roles").glob("*/*_plugins"))
    assert not list((REPO / "roles").glob("*/library"))


@pytest.mark.parametrize("name", PLAYBOOKS)
def test_playbook_by_fqcn_passes_syntax_check_outside_the_repo(
    built: dict[str, Path], name: str, tmp_path: Path
) -> None:
    inventory = tmp_path / "hosts.yml"
    inventory.write_text(
        yaml.safe_dump(
            {
                "all": {
                    "children": {
                        "k3s_cluster": {
                            "children": {
                                "server": {"hosts": {"rpi-1": {}}},
                                "agent": {"hosts": {"rpi-2": {}}},
                            }
                        }
                    }
                }
            }
        )
    )
    proc = run(
        built, "ansible-playbook", "-i", str(inventory), f"{col.FQCN}.{name}", "--syntax-check"
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert f"playbook: {built['root']}/playbooks/{name}.yml" in proc.stdout


def test_a_users_playbook_imports_site_by_fqcn(built: dict[str, Path], tmp_path: Path) -> None:
    """What an AWX project holds: a playbook of its own that imports the collection's."""
    own = tmp_path / "bootstrap.yml"
    own.write_text(yaml.safe_dump([{"ansible.builtin.import_playbook": f"{col.FQCN}.site"}]))
    proc = run(built, "ansible-playbook", "-i", "localhost,", str(own), "--syntax-check")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "ERROR" not in proc.stderr


def test_filter_by_fqcn_from_the_installed_collection(
    built: dict[str, Path], tmp_path: Path
) -> None:
    play = [
        {
            "hosts": "localhost",
            "gather_facts": False,
            "tasks": [
                {
                    "ansible.builtin.debug": {
                        "msg": "{{ ['pi-1'] | pik8s.cluster.k3s_api_address(hostvars, '', "
                        "'192.0.2.50') }}"
                    }
                }
            ],
        }
    ]
    (tmp_path / "play.yml").write_text(yaml.safe_dump(play))
    env = col.clean_env(built["cwd"], built["collections"])
    env.update(ANSIBLE_STDOUT_CALLBACK="json", ANSIBLE_LOCALHOST_WARNING="0")
    env["ANSIBLE_INVENTORY_UNPARSED_WARNING"] = "0"
    proc = subprocess.run(
        [str(col.BIN / "ansible-playbook"), str(tmp_path / "play.yml")],
        cwd=built["cwd"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    task = json.loads(proc.stdout)["plays"][0]["tasks"][0]
    assert task["hosts"]["localhost"]["msg"] == "192.0.2.50"
