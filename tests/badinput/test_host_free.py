"""The bad-input corpus, part 1: cases refused before any host is contacted.

Each case runs the real `pi-k8s` command twice, piped and under a pseudo-terminal
(tests/badinput/runner.py), in a working directory of its own that also holds the run's
state dir (PI_K8S_STATE_DIR), HOME with a ~/.kube/config, and every file the case names.
Each run must exit with the documented code (pi_k8s/errors.py, README "Exit codes"),
name the problem, print a hint, show no traceback, and leave that whole directory
exactly as it was: no file written or removed, no mode changed (nothing reached Ansible,
so not even a run dir). The cases that reach testbed hosts are in test_on_hosts.py.

These run in the unit phase (`make unit`); none needs root or podman. A discover case
that passes validation sweeps loopback only (127.0.0.1/32, --no-mdns).
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.badinput.controller import tree
from tests.badinput.runner import MODES, assert_refused, run
from tests.conftest import STANDIN_VERSION, standin

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
LONG = "é" * 5000  # a very long non-ASCII value
LOOPBACK = ["--subnet", "127.0.0.1/32", "--no-mdns"]
SPEC = "name: lab\nk3s:\n  channel: stable\nservers: 1\n"
INVENTORY = (
    "all:\n  children:\n    k3s_cluster:\n      children:\n"
    "        server:\n          hosts:\n            pi-a: {ansible_host: 127.0.0.1, "
    "pi_k8s_arch: aarch64}\n        agent:\n          hosts: {}\n"
    "      vars:\n        cluster_k3s_version: " + STANDIN_VERSION + "\n"
)
WORKLOADS = "workloads:\n  - name: web\n    manifests: [web.yaml]\n"


@dataclass(frozen=True)
class Case:
    """args: the command line (relative paths are in the case's working directory);
    code, expect: the exit code and texts the output must show; hint: a text of the
    hint (None: any hint line); files: name → content written first; state_is_a_file:
    PI_K8S_STATE_DIR names a file."""

    args: list[str]
    code: int
    expect: list[str]
    hint: str | None = None
    files: dict[str, str] = field(default_factory=dict)
    state_is_a_file: bool = False


def _spec(extra: str) -> dict[str, str]:
    return {"cluster.yaml": SPEC + extra}


CASES: dict[str, Case] = {
    # ------------------------------------------------------------------ discover
    "discover_subnet_closing_tag": Case(
        ["discover", "--subnet", "[/x]"], 2, ["error: Invalid subnet '[/x]'"], "Use CIDR form"
    ),
    "discover_subnet_markup": Case(
        ["discover", "--subnet", "[bold]lan[/bold]"],
        2,
        ["Invalid subnet '[bold]lan[/bold]'"],
        "Use CIDR form",
    ),
    "discover_subnet_bracketed_list": Case(
        ["discover", "--subnet", "[pi-a, pi-b]"],
        2,
        ["error: Invalid subnet '[pi-a, pi-b]'"],
        "Use CIDR form",
    ),
    "discover_subnet_very_long_unicode": Case(
        ["discover", "--subnet", LONG], 2, [f"Invalid subnet '{LONG}'"], "Use CIDR form"
    ),
    "discover_subnet_quotes": Case(
        ["discover", "--subnet", "10.0.0.0/24'; echo \"x"],
        2,
        ["Invalid subnet", 'echo "x'],
        "Use CIDR form",
    ),
    "discover_subnet_prefix_33": Case(
        ["discover", "--subnet", "10.0.0.0/33"], 2, ["Invalid subnet '10.0.0.0/33'"]
    ),
    "discover_subnet_whole_internet": Case(
        ["discover", "--subnet", "0.0.0.0/0"],
        2,
        ["Subnet 0.0.0.0/0 has 4294967296 addresses; the limit is a /16"],
        "usually a /24",
    ),
    "discover_output_dir_missing": Case(
        ["discover", *LOOPBACK, "-o", "missing/dir/x.json"],
        2,
        ["--output missing/dir/x.json: the directory missing/dir does not exist"],
        "mkdir -p missing/dir",
    ),
    "discover_output_under_a_file": Case(
        ["discover", *LOOPBACK, "-o", "afile/x.json"],
        2,
        ["--output afile/x.json: the directory afile is not a directory"],
    ),
    "discover_output_is_a_directory": Case(
        ["discover", *LOOPBACK, "-o", "sticky"], 2, ["--output sticky is a directory"]
    ),
    "discover_identity_not_a_key": Case(
        ["discover", *LOOPBACK, "--identity", "notakey"],
        2,
        ["Identity file notakey is not an SSH private key"],
        "--identity ~/.ssh/id_ed25519",
    ),
    "discover_identity_missing": Case(
        ["discover", *LOOPBACK, "--identity", "[/x] nokey"],
        2,
        ["Identity file [/x] nokey does not exist"],
        "--identity ~/.ssh/id_ed25519",
    ),
    "discover_timeout_zero": Case(
        ["discover", *LOOPBACK, "--timeout", "0"],
        2,
        ["Invalid value for '--timeout'"],
        "Try 'pi-k8s discover -h' for help.",
    ),
    "discover_unknown_option": Case(
        ["discover", "--bogus"],
        2,
        ["No such option: --bogus"],
        "Try 'pi-k8s discover -h' for help.",
    ),
    # ----------------------------------------------------------------- inventory
    "inventory_spec_missing": Case(
        ["inventory", "-s", "nope.yaml", "--from", "discovery.json"],
        3,
        ["nope.yaml: no such file"],
        "Copy inventory/cluster.example.yaml",
    ),
    "inventory_from_and_discover": Case(
        ["inventory", "--from", "discovery.json", "--discover"],
        2,
        ["--from and --discover are mutually exclusive"],
    ),
    "inventory_no_hosts_source": Case(
        ["inventory", "-s", "cluster.yaml"], 2, ["--from discovery.json or --discover"]
    ),
    "inventory_subnet_markup": Case(
        ["inventory", "--discover", "--subnet", "[/x]"],
        2,
        ["--subnet '[/x]' is not an IPv4 network"],
        "--subnet 192.168.1.0/24",
    ),
    "inventory_spec_not_yaml": Case(
        ["inventory", "--from", "discovery.json", "-o", "out/hosts.yml"],
        3,
        ["cluster.yaml: not valid YAML at line 1"],
        "indentation and quoting",
        files={"cluster.yaml": ": : [\n"},
    ),
    "inventory_name_markup": Case(
        ["inventory", "--from", "discovery.json", "-o", "out/hosts.yml"],
        3,
        ["name: must be a DNS label", "got '[bold]lab[/x]'"],
        "name: homelab",
        files={"cluster.yaml": 'name: "[bold]lab[/x]"\nk3s:\n  channel: stable\nservers: 1\n'},
    ),
    "inventory_unknown_key_unicode_markup": Case(
        ["inventory", "--from", "discovery.json", "-o", "out/hosts.yml"],
        3,
        ["unknown key 'évil[/x]'"],
        "inventory/cluster.example.yaml",
        files=_spec('"évil[/x]": 1\n'),
    ),
    "inventory_include_very_long": Case(
        ["inventory", "--from", "discovery.json", "-o", "out/hosts.yml"],
        3,
        [f"hosts.include[0]: '[/x]{LONG}'"],
        "lists of hostnames, MACs",
        files=_spec(f'hosts:\n  include: ["[/x]{LONG}"]\n'),
    ),
    "inventory_channel_markup": Case(
        ["inventory", "--from", "discovery.json", "-o", "out/hosts.yml"],
        3,
        ["k3s.channel: must be stable, latest, testing or v1.NN", "got '[red]nope'"],
        "Set exactly one of k3s.version",
        files={"cluster.yaml": 'name: lab\nk3s:\n  channel: "[red]nope"\nservers: 1\n'},
    ),
    "inventory_version_without_v": Case(
        ["inventory", "--from", "discovery.json", "-o", "out/hosts.yml"],
        3,
        ["k3s.version", "1.31.4+k3s1"],
        files={"cluster.yaml": 'name: lab\nk3s:\n  version: "1.31.4+k3s1"\nservers: 1\n'},
    ),
    "inventory_even_servers": Case(
        ["inventory", "--from", "discovery.json", "-o", "out/hosts.yml"],
        3,
        ["servers"],
        files={"cluster.yaml": "name: lab\nk3s:\n  channel: stable\nservers: 2\n"},
    ),
    "inventory_api_vip": Case(
        ["inventory", "--from", "discovery.json", "-o", "out/hosts.yml"],
        3,
        ["api_vip", "not supported yet"],
        files=_spec("api_vip: 192.168.50.5\n"),
    ),
    "inventory_discovery_not_json": Case(
        ["inventory", "--from", "notakey", "-o", "out/hosts.yml"],
        3,
        ["notakey"],
        files=_spec(""),
    ),
    "inventory_output_under_a_file": Case(
        ["inventory", "--from", "discovery.json", "-o", "afile/hosts.yml"],
        2,
        ["--output afile/hosts.yml: afile is not a directory"],
        "parent directories exist or can be created",
        files=_spec(""),
    ),
    "inventory_output_is_a_directory": Case(
        ["inventory", "--from", "discovery.json", "-o", "sticky"],
        2,
        ["--output sticky is a directory"],
        files=_spec(""),
    ),
    # ----------------------------------------------------------------- bootstrap
    "bootstrap_no_inventory_nor_spec": Case(
        ["bootstrap"], 2, ["Pass exactly one of --inventory FILE or --spec cluster.yaml"]
    ),
    "bootstrap_inventory_missing": Case(
        ["bootstrap", "-i", "[/x]'\"ü.yml"],
        3,
        ["Inventory [/x]'\"ü.yml does not exist"],
        "pi-k8s inventory",
    ),
    "bootstrap_inventory_not_yaml": Case(
        ["bootstrap", "-i", "hosts.yml"],
        3,
        ["Inventory hosts.yml has no hosts"],
        "ansible-inventory -i FILE --list",
        files={"hosts.yml": ": : [\n"},
    ),
    "bootstrap_version_without_v": Case(
        ["bootstrap", "-i", "inv.yml", "--k3s-version", "1.31.4+k3s1"],
        2,
        ["--k3s-version '1.31.4+k3s1' is not a k3s release tag"],
        "v1.NN.N+k3sN",
    ),
    "bootstrap_version_markup": Case(
        ["bootstrap", "-i", "inv.yml", "--k3s-version", "[/x]v1"],
        2,
        ["--k3s-version '[/x]v1' is not a k3s release tag"],
        "v1.NN.N+k3sN",
    ),
    "bootstrap_channel_nope": Case(
        ["bootstrap", "-i", "inv.yml", "--k3s-channel", "nope"],
        2,
        ["--k3s-channel 'nope' is not a k3s release channel"],
        "stable, latest, testing or v1.NN",
    ),
    "bootstrap_mirror_ftp": Case(
        ["bootstrap", "-i", "inv.yml", "--mirror", "ftp://x"],
        2,
        ["--mirror 'ftp://x' is not an http(s) URL"],
        "--mirror http://mirror.lan/k3s",
    ),
    "bootstrap_airgap_missing": Case(
        ["bootstrap", "-i", "inv.yml", "--airgap", "no/such/dir"],
        2,
        ["--airgap no/such/dir is not a directory"],
        "sha256sum-<arch>.txt",
    ),
    "bootstrap_airgap_lacks_the_arch": Case(
        ["bootstrap", "-i", "inv.yml", "--airgap", "airgap-no-arm64"],
        2,
        ["lacks what the hosts need", "arm64 (pi-a): no k3s-arm64"],
        "k3s, k3s-arm64, k3s-armhf",
    ),
    "bootstrap_airgap_lacks_the_checksum_line": Case(
        ["bootstrap", "-i", "inv.yml", "--airgap", "airgap-no-sum"],
        2,
        ["arm64 (pi-a): no the k3s-arm64 line in sha256sum-arm64.txt"],
        "sha256sum-<arch>.txt",
    ),
    "bootstrap_version_and_channel": Case(
        ["bootstrap", "-i", "inv.yml", "--k3s-version", STANDIN_VERSION, "--k3s-channel", "stable"],
        2,
        ["--k3s-version and --k3s-channel exclude each other"],
    ),
    "bootstrap_airgap_and_mirror": Case(
        ["bootstrap", "-i", "inv.yml", "--airgap", "airgap", "--mirror", "http://m.lan/k3s"],
        2,
        ["--airgap and --mirror exclude each other"],
    ),
    "bootstrap_from_without_spec": Case(
        ["bootstrap", "-i", "inv.yml", "--from", "discovery.json"],
        2,
        ["--from and --subnet only go with --spec"],
    ),
    "bootstrap_spec_without_hosts": Case(
        ["bootstrap", "--spec", "cluster.yaml"],
        2,
        ["--spec needs hosts"],
        "--subnet 192.168.1.0/24",
        files=_spec(""),
    ),
    "bootstrap_config_sets_token": Case(
        ["bootstrap", "-i", "hosts.yml"],
        3,
        ["k3s_server_config sets token (for pi-a)"],
        "Remove token from k3s_server_config",
        files={
            "hosts.yml": "all:\n  hosts:\n    pi-a: {ansible_host: 127.0.0.1, "
            'k3s_server_config: {token: "[/x]s3cret"}}\n'
        },
    ),
    "bootstrap_api_vip": Case(
        ["bootstrap", "-i", "hosts.yml"],
        3,
        ["cluster_api_vip", "not supported yet"],
        files={"hosts.yml": INVENTORY + "        cluster_api_vip: 127.0.0.5\n"},
    ),
    # -------------------------------------------------------------------- verify
    "verify_inventory_missing": Case(
        ["verify", "-i", "nope.yml"], 3, ["Inventory nope.yml does not exist"], "pi-k8s inventory"
    ),
    "verify_junit_dir_missing": Case(
        ["verify", "-i", "inv.yml", "--junit", "missing/dir/x.xml"],
        2,
        ["--junit missing/dir/x.xml: the directory missing/dir does not exist"],
        "mkdir -p missing/dir",
    ),
    "verify_junit_is_a_directory": Case(
        ["verify", "-i", "inv.yml", "--junit", "sticky"], 2, ["--junit sticky is a directory"]
    ),
    "verify_min_free_negative": Case(
        ["verify", "-i", "inv.yml", "--min-free-mb", "-1"],
        2,
        ["Invalid value for '--min-free-mb'"],
        "Try 'pi-k8s verify -h' for help.",
    ),
    # -------------------------------------------------------------------- deploy
    "deploy_inventory_missing": Case(
        ["deploy", "-s", "workloads.yaml", "-i", "nope.yml"],
        3,
        ["Inventory nope.yml does not exist"],
        files={"workloads.yaml": WORKLOADS, "web.yaml": "kind: ConfigMap\n"},
    ),
    "deploy_spec_missing": Case(
        ["deploy", "-s", "nope.yaml", "-i", "inv.yml"],
        3,
        ["Workloads spec nope.yaml does not exist"],
        "examples/workloads.yaml",
    ),
    "deploy_spec_not_yaml": Case(
        ["deploy", "-s", "workloads.yaml", "-i", "inv.yml"],
        3,
        ["workloads.yaml: not valid YAML"],
        "examples/workloads.yaml",
        files={"workloads.yaml": ": : [\n"},
    ),
    "deploy_workload_name_hostile": Case(
        ["deploy", "-s", "workloads.yaml", "-i", "inv.yml"],
        3,
        ["workloads[0].name: 'Évil [/x] \"q\"' is not a valid Kubernetes name"],
        "examples/workloads.yaml",
        files={"workloads.yaml": 'workloads:\n  - name: "Évil [/x] \\"q\\""\n    manifests: [a]\n'},
    ),
    "deploy_manifest_missing_markup_name": Case(
        ["deploy", "-s", "workloads.yaml", "-i", "inv.yml"],
        3,
        ["workloads[0].manifests[0]: [bold]nope's.yaml does not exist (relative to the spec)"],
        "examples/workloads.yaml",
        files={
            "workloads.yaml": 'workloads:\n  - name: web\n    manifests: ["[bold]nope\'s.yaml"]\n'
        },
    ),
    "deploy_var_without_value": Case(
        ["deploy", "-s", "workloads.yaml", "-i", "inv.yml", "--var", "[/x]"],
        3,
        ["--var '[/x]' is not NAME=VALUE"],
        "--var replicas=2",
        files={"workloads.yaml": WORKLOADS, "web.yaml": "kind: ConfigMap\n"},
    ),
    "deploy_timeout_zero": Case(
        ["deploy", "--timeout", "0"],
        2,
        ["Invalid value for '--timeout'"],
        "Try 'pi-k8s deploy -h' for help.",
    ),
    # ------------------------------------------------------------------- testbed
    # Each is refused before podman is called: nothing is created.
    "testbed_up_name_with_space": Case(
        ["testbed", "up", "--name", "bad name"], 2, ["Invalid testbed name 'bad name'"], "dashes"
    ),
    "testbed_up_name_markup": Case(
        ["testbed", "up", "--name", "[/x]"], 2, ["Invalid testbed name '[/x]'"], "dashes"
    ),
    "testbed_up_name_very_long": Case(
        ["testbed", "up", "--name", LONG], 2, [f"Invalid testbed name '{LONG}'"], "dashes"
    ),
    "testbed_up_public_subnet": Case(
        ["testbed", "up", "--name", "bi11x", "--subnet", "8.8.8.0/24"],
        2,
        ["Subnet 8.8.8.0/24 is not a private IPv4 range"],
        "private ranges",
    ),
    "testbed_up_subnet_markup": Case(
        ["testbed", "up", "--name", "bi11x", "--subnet", "[bold]"],
        2,
        ["Invalid subnet '[bold]'"],
        "CIDR form",
    ),
    "testbed_up_unknown_driver": Case(
        ["testbed", "up", "--name", "bi11x", "--driver", "vmware"],
        2,
        ["Unknown --driver 'vmware'"],
        "container or qemu",
    ),
    "testbed_up_no_nodes": Case(
        ["testbed", "up", "--name", "bi11x", "--nodes", "0"],
        2,
        ["A testbed needs at least one host"],
        "--nodes 1 or more",
    ),
    "testbed_down_path_name": Case(
        ["testbed", "down", "--name", "../x"], 2, ["Invalid testbed name '../x'"], "dashes"
    ),
    # -------------------------------------------- the state dir is a file (exit 6)
    "state_dir_is_a_file_bootstrap": Case(
        ["bootstrap", "-i", "inv.yml", "--no-verify"],
        6,
        ["cannot hold", "runs: ", "is not a directory"],
        "PI_K8S_STATE_DIR",
        state_is_a_file=True,
    ),
    "state_dir_is_a_file_deploy": Case(
        ["deploy", "-s", "workloads.yaml", "-i", "inv.yml", "--check"],
        6,
        ["cannot hold", "is not a directory"],
        "PI_K8S_STATE_DIR",
        files={
            "workloads.yaml": WORKLOADS,
            "web.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: web}\n",
        },
        state_is_a_file=True,
    ),
    "state_dir_is_a_file_testbed_up": Case(
        ["testbed", "up", "--name", "bi11sf", "--subnet", "10.213.90.0/24"],
        6,
        ["cannot hold", "testbed/bi11sf", "is not a directory"],
        "PI_K8S_STATE_DIR",
        state_is_a_file=True,
    ),
}


def _workdir(root: Path, case: Case) -> tuple[Path, dict[str, str]]:
    """The case's directory: work/ (the cwd, with its files), state/, home/.kube."""
    work = root / "work"
    work.mkdir()
    (work / "afile").write_text("a file, not a directory\n")
    (work / "notakey").write_text("not an SSH key\n")
    (work / "sticky").mkdir()
    (work / "sticky").chmod(0o1777)
    (work / "inv.yml").write_text(INVENTORY)
    shutil.copy(FIXTURES / "inventory" / "bad" / "discovery.json", work / "discovery.json")
    (work / "cluster.yaml").write_text(SPEC)
    for name in ("airgap", "airgap-no-arm64", "airgap-no-sum"):
        standin.build_airgap(work / name, STANDIN_VERSION)
    (work / "airgap-no-arm64" / "k3s-arm64").unlink()
    sums = work / "airgap-no-sum" / "sha256sum-arm64.txt"
    sums.write_text("".join(x for x in sums.read_text().splitlines(True) if "k3s-arm64\n" not in x))
    for name, text in case.files.items():
        (work / name).write_text(text)
    home = root / "home"
    (home / ".kube").mkdir(parents=True)
    (home / ".kube" / "config").write_text("apiVersion: v1\nkind: Config\n")
    if case.state_is_a_file:
        state = root / "state-file"
        state.write_text("not a directory\n")
    else:
        state = root / "state"
        state.mkdir(mode=0o700)
    return work, {"PI_K8S_STATE_DIR": str(state), "HOME": str(home)}


def _controller(root: Path) -> dict[str, str]:
    """``tree(root)`` without ~/.ansible: Ansible makes its local temp dir there as soon
    as pi-k8s loads an inventory with it, before any check (not pi-k8s's to keep)."""
    return {p: v for p, v in tree(root).items() if not p.startswith("home/.ansible")}


def test_the_corpus_has_its_share_of_cases() -> None:
    per_command: dict[str, int] = {}
    for name in CASES:
        command = name.split("_")[0]
        per_command[command] = per_command.get(command, 0) + 1
    assert len(CASES) >= 60, per_command
    for command in ("discover", "inventory", "bootstrap", "verify", "deploy", "testbed"):
        assert per_command.get(command, 0) >= 3, per_command


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("name", list(CASES))
def test_bad_input_is_refused_and_nothing_changes(name: str, mode: str, tmp_path: Path) -> None:
    case = CASES[name]
    work, env = _workdir(tmp_path, case)
    before = _controller(tmp_path)
    result = run(mode, case.args, env=env, cwd=work, timeout=120)
    assert_refused(result, case.code, case.expect, case.hint)
    assert _controller(tmp_path) == before, result.text
