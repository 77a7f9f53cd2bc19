"""The switch between the k3s stand-in and real k3s (tests/k3s_release.py, issue 16 §3).

With PI_K8S_E2E_K3S naming a release directory the tests install that release, at the
version its own `k3s --version` prints, and never build the stand-in; unset, they build the
stand-in. The "real" releases here are fake: a `k3s` shell script that prints what
`k3s --version` prints (first line as k3s's `version.go` formats it).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from types import SimpleNamespace

import pytest

from tests import conftest, k3s_release, testbed_inventory
from tests.k3s_release import ENV


def fake_release(directory: Path, version: str) -> Path:
    directory.mkdir(parents=True)
    k3s = directory / "k3s"
    k3s.write_text(
        f"#!/bin/sh\necho 'k3s version {version} (0123abcd)'\necho 'go version go1.23'\n"
    )
    k3s.chmod(0o755)
    digest = hashlib.sha256(k3s.read_bytes()).hexdigest()
    (directory / "sha256sum-amd64.txt").write_text(f"{digest}  k3s\n")
    return directory


def never(dest: Path, version: str) -> Path:
    raise AssertionError(f"the stand-in was built ({dest}, {version})")


@pytest.fixture
def real(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Path]:
    """Two fake releases named by PI_K8S_E2E_K3S, the stand-in builder made to fail."""
    one = fake_release(tmp_path / "r1", "v1.32.1+k3s1")
    two = fake_release(tmp_path / "r2", "v1.32.2+k3s1")
    monkeypatch.setenv(ENV, f"{one}:{two}")
    monkeypatch.setattr(conftest.standin, "build_airgap", never)
    return {"v1.32.1+k3s1": one, "v1.32.2+k3s1": two}


def test_with_the_variable_the_first_release_is_installed_at_its_own_version(
    real: dict[str, Path], tmp_path: Path
) -> None:
    assert k3s_release.is_real()
    assert k3s_release.installed_version() == "v1.32.1+k3s1"
    assert k3s_release.real_releases() == real
    got = k3s_release.airgap_dir(tmp_path / "dest", build=never)
    assert got == (real["v1.32.1+k3s1"], "v1.32.1+k3s1")
    assert not (tmp_path / "dest").exists()


def test_the_conftest_helper_returns_the_release_and_never_builds_the_stand_in(
    real: dict[str, Path], tmp_path: Path
) -> None:
    # airgap_for is what the `airgap` fixture returns; build_airgap raises if called.
    assert conftest.airgap_for(tmp_path / "a") == real["v1.32.1+k3s1"]
    assert conftest.airgap_for(tmp_path / "b", "v1.32.2+k3s1") == real["v1.32.2+k3s1"]


def test_a_copy_is_a_whole_release_the_test_may_alter(
    real: dict[str, Path], tmp_path: Path
) -> None:
    dest = conftest.airgap_for(tmp_path / "copy", "v1.32.2+k3s1", copy=True)
    assert dest == tmp_path / "copy"
    for name in ("k3s", "sha256sum-amd64.txt"):
        assert (dest / name).read_bytes() == (real["v1.32.2+k3s1"] / name).read_bytes()
    conftest.standin.tamper(dest, "k3s")  # what the tampered-binary tests do
    assert (dest / "k3s").read_bytes() != (real["v1.32.2+k3s1"] / "k3s").read_bytes()
    assert k3s_release.release_version(real["v1.32.2+k3s1"]) == "v1.32.2+k3s1"


def test_a_version_no_release_has_skips_the_test_naming_it(
    real: dict[str, Path], tmp_path: Path
) -> None:
    with pytest.raises(k3s_release.NoSuchRelease, match=r"no release v1\.31\.5\+k3s1"):
        k3s_release.airgap_dir(tmp_path / "x", "v1.31.5+k3s1", build=never)
    with pytest.raises(pytest.skip.Exception, match=r"v1\.31\.5"):
        conftest.airgap_for(tmp_path / "y", "v1.31.5+k3s1")


def test_without_the_variable_the_stand_in_is_built(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(ENV, raising=False)
    calls: list[tuple[Path, str]] = []

    def build(dest: Path, version: str) -> Path:
        calls.append((dest, version))
        return dest

    assert not k3s_release.is_real()
    assert k3s_release.installed_version() == k3s_release.STANDIN_VERSION
    assert k3s_release.airgap_dir(tmp_path / "s", build=build) == (
        tmp_path / "s",
        k3s_release.STANDIN_VERSION,
    )
    assert k3s_release.airgap_dir(tmp_path / "n", "v1.31.5+k3s1", build=build)[1] == "v1.31.5+k3s1"
    assert calls == [(tmp_path / "s", "v1.31.4+k3s1"), (tmp_path / "n", "v1.31.5+k3s1")]
    # conftest's helper with the real builder: the stand-in's own binary, marked as such.
    built = conftest.airgap_for(tmp_path / "standin")
    assert "stand-in" in (built / "k3s").read_text()


def test_not_a_release_is_refused_with_the_variable_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(ENV, str(tmp_path / "missing"))
    with pytest.raises(k3s_release.ReleaseError, match=f"{ENV}: .*missing is not a directory"):
        k3s_release.real_releases()
    (tmp_path / "empty").mkdir()
    monkeypatch.setenv(ENV, str(tmp_path / "empty"))
    with pytest.raises(k3s_release.ReleaseError, match="has no k3s"):
        k3s_release.installed_version()
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "k3s").write_text("#!/bin/sh\necho hello\n")
    (bad / "k3s").chmod(0o755)
    monkeypatch.setenv(ENV, str(bad))
    with pytest.raises(k3s_release.ReleaseError, match="printed no k3s version"):
        k3s_release.installed_version()


def test_under_real_k3s_the_testbed_inventory_uses_the_native_snapshotter(
    real: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    hosts = tmp_path / "hosts.json"
    hosts.write_text(
        json.dumps({"all": {"hosts": {"rpi-1": {"ansible_host": "10.0.0.1"}}, "vars": {}}})
    )
    bed = SimpleNamespace(name="b", inventory=hosts)
    inv = testbed_inventory.cluster_inventory(
        bed, ["rpi-1"], k3s_agent_config={"node-label": ["a=b"]}
    )
    group = inv["all"]["children"]["k3s_cluster"]["vars"]
    assert group["k3s_server_config"] == {"snapshotter": "native"}
    assert group["k3s_agent_config"] == {"snapshotter": "native", "node-label": ["a=b"]}
    monkeypatch.delenv(ENV)
    plain = testbed_inventory.cluster_inventory(bed, ["rpi-1"])
    assert "k3s_server_config" not in plain["all"]["children"]["k3s_cluster"]["vars"]


def test_the_collection_hook_skips_stand_in_only_tests_under_real_k3s(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    class Item:
        def __init__(self, *marks: pytest.MarkDecorator) -> None:
            self.own = {m.mark.name: m.mark for m in marks}
            self.added: list[pytest.Mark] = []
            self.path = Path("tests/integration/test_x.py")

        def get_closest_marker(self, name: str) -> pytest.Mark | None:
            return self.own.get(name)

        def add_marker(self, mark: pytest.MarkDecorator) -> None:
            self.added.append(mark.mark)

    only = Item(pytest.mark.standin_only(reason="tampers with the stand-in"))
    real_only, plain = Item(pytest.mark.real_k3s), Item()
    for real, skipped in ((True, only), (False, real_only)):
        for item in (only, real_only, plain):
            item.added.clear()
        monkeypatch.setattr(conftest, "REAL_K3S", real)
        conftest.pytest_collection_modifyitems(None, [only, real_only, plain])  # type: ignore[arg-type]
        assert [m.name for m in skipped.added] == ["skip"]
        assert plain.added == [] and (only if not real else real_only).added == []
    monkeypatch.setattr(conftest, "REAL_K3S", True)
    only.added.clear()
    conftest.pytest_collection_modifyitems(None, [only])  # type: ignore[arg-type]
    assert only.added[0].kwargs["reason"] == "stand-in only: tampers with the stand-in"


def test_the_collection_hook_puts_the_slowest_modules_first_and_keeps_each_modules_order(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Under pytest-xdist the slowest modules start first; a module's tests stay together
    and in their order (their fixtures are module-scoped)."""

    def item(path: str, name: str) -> SimpleNamespace:
        return SimpleNamespace(path=Path(path), name=name, get_closest_marker=lambda _: None)

    items = [
        item("tests/integration/test_a.py", "a1"),
        item("tests/integration/test_bootstrap.py", "b1"),
        item("tests/integration/test_a.py", "a2"),
        item("tests/integration/test_molecule.py", "m1"),
        item("tests/integration/test_bootstrap.py", "b2"),
        item("tests/unit/test_z.py", "z1"),
    ]
    monkeypatch.setattr(conftest, "REAL_K3S", False)
    conftest.pytest_collection_modifyitems(None, items)  # type: ignore[arg-type]
    assert [i.name for i in items] == ["m1", "b1", "b2", "a1", "a2", "z1"]
