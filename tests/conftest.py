"""Shared fixtures. ``testbed`` hosts are real podman containers (see pi_k8s.testbed)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest
from click.testing import Result
from typer.testing import CliRunner

from pi_k8s import paths
from pi_k8s import testbed as tb
from pi_k8s.cli import app

REPO = Path(__file__).resolve().parent.parent

# The k3s stand-in (tests/standin/): a test double for the k3s binary, which cannot be
# downloaded here. Tests install it through the same airgap path as real k3s.
sys.path.insert(0, str(REPO / "tests" / "standin"))
import build as standin  # noqa: E402

from tests import k3s_release  # noqa: E402

STANDIN_VERSION = k3s_release.STANDIN_VERSION
# PI_K8S_E2E_K3S (tests/k3s_release.py) switches the suite to real k3s releases: then the
# tests install the first of them, at its own version, and never build the stand-in.
REAL_K3S = k3s_release.is_real()
K3S_VERSION = k3s_release.installed_version()

# Every --json a test reads (CliRunner or a pi-k8s subprocess, which inherits this) is first
# checked by the CLI against its shipped schema (pi_k8s/schemas): a mismatch fails the command.
os.environ["PI_K8S_CHECK_JSON"] = "1"


@pytest.fixture(scope="session", autouse=True)
def _collection_link() -> None:
    """The checkout's .collections/ (ansible.cfg's collections_path) links this tree as
    pik8s.cluster, whose filters the roles call by FQCN; `make venv` makes it too."""
    paths.link_collection(REPO / ".collections")


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


@pytest.fixture(scope="module")
def own_state_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A module whose tests count the remembered clusters (or their backups) keeps its
    state apart from the session's: it sees only what it made, its testbed's keys too."""
    with pytest.MonkeyPatch.context() as mp:
        state = tmp_path_factory.mktemp("module-state")
        mp.setenv("PI_K8S_STATE_DIR", str(state))
        yield state


# The net.* sysctls pi_prereq sets. They belong to each container's own network namespace,
# whose starting values depend on the machine (podman, netavark/CNI, the kernel).
K3S_SYSCTLS = (
    "net.ipv4.ip_forward",
    "net.bridge.bridge-nf-call-iptables",
    "net.bridge.bridge-nf-call-ip6tables",
)


def sysctl_path(key: str) -> str:
    return "/proc/sys/" + key.replace(".", "/")


def podman_sh(container: str, command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["podman", "exec", container, "sh", "-c", command],
        capture_output=True,
        text=True,
        timeout=60,
    )


def host_sh(bed: tb.Testbed, host: str, command: str) -> subprocess.CompletedProcess[str]:
    """Run a shell command inside a testbed host's container (not checked)."""
    container = next(h.container for h in bed.hosts if h.name == host)
    return podman_sh(container, command)


def turn_k3s_sysctls_off(bed: tb.Testbed, hosts: list[str] | None = None) -> None:
    """Set the k3s sysctls to 0 inside the hosts, so only pi_prereq can make them 1."""
    for h in bed.hosts:
        if hosts is not None and h.name not in hosts:
            continue
        for key in K3S_SYSCTLS:
            proc = podman_sh(h.container, f"echo 0 > {sysctl_path(key)} && cat {sysctl_path(key)}")
            assert proc.returncode == 0 and proc.stdout.strip() == "0", (h.name, key, proc)


def make_testbed(name: str, subnet: str, nodes: int, others: int = 0) -> Iterator[tb.Testbed]:
    """Bring a named testbed up and always take it down, even when the tests fail."""
    try:
        yield tb.up(nodes, others, name=name, subnet=subnet)
    finally:
        tb.down(name)


def session_testbed_layout() -> tuple[str, str]:
    """The session testbed's name and subnet: ``pytest`` on 10.213.14.0/24, and under
    pytest-xdist one of its own for each further worker (gw1: ``pytest1`` on
    10.213.94.0/24, gw2: ``pytest2`` on 10.213.95.0/24)."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
    n = int(worker.removeprefix("gw") or 0)
    if n > 2:
        raise pytest.UsageError("the session testbed has subnets for 3 xdist workers at most")
    return ("pytest", "10.213.14.0/24") if n == 0 else (f"pytest{n}", f"10.213.{93 + n}.0/24")


@pytest.fixture(scope="session")
def testbed(_private_state_dir: Path) -> Iterator[tb.Testbed]:
    """The session's shared testbed: 3 Pi hosts and 1 non-Pi host (session_testbed_layout).

    Tests that change a host must restore it. Tests that need another layout call
    ``make_testbed`` with their own name and subnet.
    """
    name, subnet = session_testbed_layout()
    yield from make_testbed(name, subnet, nodes=3, others=1)


# The slowest testbed modules, slowest first (integration times of .ci/run). Run first, so
# that under pytest-xdist the last module to start is a short one, not molecule's ten
# minutes with the other worker idle.
SLOWEST_FIRST = (
    "test_molecule.py",
    "test_bootstrap.py",
    "test_lb.py",
    "test_day2.py",
    "test_vip.py",
    "test_reset.py",
    "test_on_hosts.py",
    "test_upgrade.py",
    "test_reboot.py",
)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Under real k3s, skip the tests only the stand-in can run; without it, the real-only
    ones. The slowest modules go first (SLOWEST_FIRST); each module's tests keep their order."""
    rank = {name: i for i, name in enumerate(SLOWEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.path.name, len(rank)))  # stable
    for item in items:
        mark = item.get_closest_marker("standin_only")
        if REAL_K3S and mark:
            why = mark.kwargs.get("reason") or (mark.args[0] if mark.args else "")
            item.add_marker(pytest.mark.skip(reason=f"stand-in only: {why}"))
        if not REAL_K3S and item.get_closest_marker("real_k3s"):
            item.add_marker(pytest.mark.skip(reason=f"needs real k3s ({k3s_release.ENV})"))


def airgap_for(dest: Path, version: str | None = None, *, copy: bool = False) -> Path:
    """An airgap directory holding ``version`` (default K3S_VERSION): the stand-in built
    into ``dest``, or under PI_K8S_E2E_K3S the real release of that version (copied into
    ``dest`` when ``copy``, for a test that alters it). A version no real release has
    skips the test, naming it."""
    try:
        return k3s_release.airgap_dir(dest, version, build=standin.build_airgap, copy=copy)[0]
    except k3s_release.NoSuchRelease as exc:
        pytest.skip(str(exc))


@pytest.fixture(scope="module")
def airgap(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An airgap directory laid out like a k3s release: the stand-in, or the real release
    PI_K8S_E2E_K3S names first (tests/k3s_release.py)."""
    return airgap_for(tmp_path_factory.mktemp("airgap"))


@pytest.fixture(scope="module")
def controller_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The controller user's home for a module: the kubeconfig lands in its ~/.kube."""
    with pytest.MonkeyPatch.context() as mp:
        home = tmp_path_factory.mktemp("home")
        mp.setenv("HOME", str(home))
        yield home


def cli(*args: str) -> tuple[int, str]:
    """`pi-k8s ARGS` in this process: (exit code, what the test reads of it, see ``shown``)."""
    result = CliRunner(env={"COLUMNS": "200"}).invoke(app, list(args))
    return result.exit_code, shown(result, args)


def shown(result: Result, args: Sequence[str]) -> str:
    """With --json and exit 0, stdout alone (the JSON: progress goes to stderr); otherwise
    stdout and stderr interleaved, as a user sees them (messages, hints)."""
    return result.stdout if "--json" in args and result.exit_code == 0 else result.output


def run_bootstrap(
    inventory: Path, airgap: Path, *extra: str, version: str = K3S_VERSION
) -> tuple[int, str]:
    """`pi-k8s bootstrap` from ``airgap``: (exit code, output)."""
    result = bootstrap_result(inventory, airgap, *extra, version=version)
    return result.exit_code, result.output


def bootstrap_result(
    inventory: Path, airgap: Path, *extra: str, version: str = K3S_VERSION
) -> Result:
    """`pi-k8s bootstrap` from ``airgap`` (stdout and stderr apart, for --json). The
    stand-in runs no pods, so its verify skips the workloads; under real k3s they are
    checked."""
    return CliRunner(env={"COLUMNS": "200"}).invoke(
        app,
        [
            "bootstrap",
            "-i",
            str(inventory),
            "--airgap",
            str(airgap),
            "--k3s-version",
            version,
            *([] if REAL_K3S else ["--skip-workloads"]),
            *extra,
        ],
    )


# Simulates a kernel booted without the memory cgroup: the containers share the machine's
# kernel, so a copy of the controller list without `memory` is bind-mounted over the real
# one inside the (privileged) container (used by tests/integration/test_verify_testbed.py and
# tests/integration/test_validate_first.py).
HIDE_MEMORY = (
    "if [ -e /sys/fs/cgroup/cgroup.controllers ]; then"
    " tr ' ' '\\n' < /sys/fs/cgroup/cgroup.controllers | grep -vx memory | tr '\\n' ' '"
    " > /run/fake-controllers && mount --bind /run/fake-controllers"
    " /sys/fs/cgroup/cgroup.controllers;"
    ' else awk \'BEGIN{OFS="\\t"} $1=="memory"{$4=0} {print}\' /proc/cgroups'
    " > /run/fake-cgroups && mount --bind /run/fake-cgroups /proc/cgroups; fi"
)
