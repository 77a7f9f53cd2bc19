"""`pi-k8s reset` and plain `ansible-playbook playbooks/reset.yml` on testbed hosts: every
host back to its snapshot from before bootstrap (tests/host_snapshot.py), file by file.

One server (rpi-1) and one agent (rpi-2), prepared before the first bootstrap as a user's
Pis could be:
- rpi-1's cmdline.txt already has ``cgroup_enable=memory`` (one of the flags pi-k8s adds)
  and the user's own ``splash``: bootstrap adds only ``cgroup_memory=1``, reset takes
  only that out, so its cmdline.txt changes both times and it reboots both times;
- rpi-2's cmdline.txt already has both flags, so it never changes and rpi-2 never reboots.
  rpi-2 also has an active, enabled dphys-swapfile service (a stand-in unit: a real one
  would turn swap on in the machine's kernel, which the container shares), a swap line in
  /etc/fstab, Trixie's /etc/rpi/swap.conf (so pi_prereq writes the rpi-swap drop-in), its
  own /etc/sysctl.d/90-k3s.conf (mode 0640) and a /usr/local/bin/kubectl link of its own
  (which k3s_install replaces with a link to k3s);
- the k3s sysctls start at 0 in both hosts, so pi_prereq sets them and reset puts them back.

The reboot double: containers cannot reboot into their own kernel, so pi_prereq records a
reboot in /var/lib/pi-k8s/reboot-count (and reboot-required) instead. Those two files are
the only difference a snapshot may show after a reset, and the test reads them: their
count is exactly the reboots bootstrap and reset made (1 per cmdline.txt change), and a
host that never rebooted has no /var/lib/pi-k8s at all.

The sequence, in file order: bootstrap → `ansible-playbook reset.yml` (plain Ansible, as
a user runs it) → bootstrap again → `pi-k8s reset --check`, then `--yes --forget` →
`pi-k8s reset --yes` again (changes nothing) → a reset of hosts without a usable record
(none at all; one taken after an older pi-k8s, bootstrapped again). The cluster tokens are
in no output, artifact or journal.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from click.testing import Result
from typer.testing import CliRunner

from pi_k8s import paths
from pi_k8s import testbed as tb
from pi_k8s.cli import app
from tests.conftest import host_sh as sh
from tests.conftest import make_testbed, run_bootstrap, turn_k3s_sysctls_off
from tests.host_snapshot import STATE_DIR, snapshots, without_markers
from tests.testbed_inventory import cluster_inventory

pytestmark = pytest.mark.testbed

REPO = Path(__file__).resolve().parents[2]
NAME, SUBNET = "rs13", "10.213.101.0/24"
STATE = STATE_DIR

RPI1_PREP = 'sed -i "1s/$/ cgroup_enable=memory splash/" /boot/firmware/cmdline.txt'
RPI2_PREP = r"""set -e
sed -i "1s/$/ cgroup_memory=1 cgroup_enable=memory/" /boot/firmware/cmdline.txt
cat > /lib/systemd/system/dphys-swapfile.service <<'UNIT'
[Unit]
Description=Stand-in for dphys-swapfile (test double: a container's swap is the machine's)
[Service]
Type=oneshot
RemainAfterExit=yes
ExecStart=/bin/true
[Install]
WantedBy=multi-user.target
UNIT
systemctl daemon-reload
systemctl enable --now dphys-swapfile.service
echo '/var/swapfile none swap sw 0 0' >> /etc/fstab
mkdir -p /etc/rpi && printf '[Main]\n' > /etc/rpi/swap.conf
printf '# mine\nnet.ipv4.ip_forward = 1\n' > /etc/sysctl.d/90-k3s.conf
chmod 0640 /etc/sysctl.d/90-k3s.conf
ln -s /usr/bin/true /usr/local/bin/kubectl
"""
OUTPUTS: list[str] = []  # every run's output, searched for the token at the end


def reboots(bed: tb.Testbed, host: str) -> int | None:
    """The reboots the double counted on ``host``; None when it counted none."""
    count = sh(bed, host, f"cat {STATE}/reboot-count").stdout.strip()
    return int(count) if count else None


def assert_only_markers_left(bed: tb.Testbed) -> None:
    """After a reset, pi-k8s's state directory holds the reboot double's files or is gone."""
    for host in ("rpi-1", "rpi-2"):
        left = sh(bed, host, f"ls -A {STATE} 2>/dev/null").stdout.split()
        assert set(left) <= {"reboot-count", "reboot-required"}, (host, left)


def reset_cli(inventory: Path, *args: str) -> Result:
    """`pi-k8s reset -i INVENTORY --yes ARGS`; its output is kept for the token search."""
    result = CliRunner(env={"COLUMNS": "200"}).invoke(
        app, ["reset", "-i", str(inventory), "--yes", *args]
    )
    OUTPUTS.append(result.output)
    return result


def assert_k3s_gone(bed: tb.Testbed) -> None:
    for host in ("rpi-1", "rpi-2"):
        assert sh(bed, host, "pgrep -x k3s || pgrep -f 'k3s (server|agent)'").stdout == "", host
        units = sh(bed, host, "systemctl list-unit-files 'k3s*' --no-legend").stdout
        assert units.strip() == "", (host, units)
        assert sh(bed, host, "command -v k3s || ls /usr/local/bin/k3s*").stdout == "", host


@pytest.fixture(scope="module")
def bed(tmp_path_factory: pytest.TempPathFactory, controller_home: Path) -> Iterator[dict]:
    for testbed in make_testbed(NAME, SUBNET, nodes=2):
        inv = tmp_path_factory.mktemp("inv") / "hosts.yml"
        inv.write_text(yaml.safe_dump(cluster_inventory(testbed, ["rpi-1"], ["rpi-2"])))
        turn_k3s_sysctls_off(testbed)
        assert sh(testbed, "rpi-1", RPI1_PREP).returncode == 0
        prep = sh(testbed, "rpi-2", RPI2_PREP)
        assert prep.returncode == 0, prep.stderr
        containers = {h.name: h.container for h in testbed.hosts}
        yield {"bed": testbed, "inventory": inv, "containers": containers, "before": None}


def test_bootstrap_from_the_snapshot(bed: dict, airgap: Path) -> None:
    bed["before"] = snapshots(bed["containers"])
    code, output = run_bootstrap(bed["inventory"], airgap, "--no-verify")
    OUTPUTS.append(output)
    assert code == 0, output
    line = sh(bed["bed"], "rpi-1", "cat /boot/firmware/cmdline.txt").stdout.split()
    assert line[-3:] == ["cgroup_enable=memory", "splash", "cgroup_memory=1"], line
    assert reboots(bed["bed"], "rpi-1") == 1
    assert reboots(bed["bed"], "rpi-2") is None  # its cmdline.txt already had both flags
    record = sh(bed["bed"], "rpi-2", f"cat {STATE}/original-state.json")
    assert json.loads(record.stdout)["units"]["dphys-swapfile.service"] == {
        "enabled": "enabled",
        "active": "active",
    }
    assert sh(bed["bed"], "rpi-2", "systemctl is-active dphys-swapfile").stdout.strip() != "active"


def test_plain_ansible_playbook_reset_puts_every_host_back(bed: dict) -> None:
    """reset.yml as a user runs it: ansible-playbook, no pi-k8s around it."""
    env = {
        **os.environ,
        "ANSIBLE_CONFIG": str(REPO / "ansible.cfg"),
        "PATH": str(Path(sys.executable).parent) + os.pathsep + os.environ["PATH"],
    }
    proc = subprocess.run(
        ["ansible-playbook", "-i", str(bed["inventory"]), str(REPO / "playbooks" / "reset.yml")],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO,
        timeout=900,
    )
    OUTPUTS.append(proc.stdout + proc.stderr)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    after = snapshots(bed["containers"])
    for host in ("rpi-1", "rpi-2"):
        assert without_markers(after[host]) == without_markers(bed["before"][host]), host
    assert reboots(bed["bed"], "rpi-1") == 2  # bootstrap's and reset's
    assert reboots(bed["bed"], "rpi-2") is None
    assert after["rpi-2"] == bed["before"]["rpi-2"]  # never rebooted: identical, markers too
    assert sh(bed["bed"], "rpi-2", "systemctl is-active dphys-swapfile").stdout.strip() == "active"
    assert_only_markers_left(bed["bed"])
    assert_k3s_gone(bed["bed"])


def test_pi_k8s_reset_puts_every_host_back_and_forgets_the_cluster(bed: dict, airgap: Path) -> None:
    code, output = run_bootstrap(bed["inventory"], airgap, "--no-verify")
    OUTPUTS.append(output)
    assert code == 0, output
    token = paths.state_dir() / "clusters" / NAME / "token"
    bed["tokens"] = [token.read_text().strip()]
    assert reboots(bed["bed"], "rpi-1") == 3

    # --check first: says what would change, changes nothing (the record stays too).
    bootstrapped = snapshots(bed["containers"])
    result = CliRunner(env={"COLUMNS": "200"}).invoke(
        app, ["reset", "-i", str(bed["inventory"]), "--check"]
    )
    OUTPUTS.append(result.output)
    assert result.exit_code == 0, result.output
    assert "Ensure k3s is uninstalled with the script this role installed." in result.output
    assert "Ensure cmdline.txt has none of the flags pi-k8s added" in result.output
    assert snapshots(bed["containers"]) == bootstrapped

    result = reset_cli(bed["inventory"], "--forget")
    assert result.exit_code == 0, result.output
    assert "rebooted (cmdline.txt changed): rpi-1" in result.output
    after = snapshots(bed["containers"])
    for host in ("rpi-1", "rpi-2"):
        assert without_markers(after[host]) == without_markers(bed["before"][host]), host
    assert reboots(bed["bed"], "rpi-1") == 4
    assert after["rpi-2"] == bed["before"]["rpi-2"]
    assert sh(bed["bed"], "rpi-2", "systemctl is-active dphys-swapfile").stdout.strip() == "active"
    assert_only_markers_left(bed["bed"])
    assert_k3s_gone(bed["bed"])
    assert not token.parent.exists()  # --forget: the cluster's state on the controller


def test_a_second_reset_changes_nothing_and_reboots_nothing(bed: dict) -> None:
    before = snapshots(bed["containers"])
    run = reset_cli(bed["inventory"], "--json")
    assert run.exit_code == 0, run.output
    result = json.loads(run.stdout)
    assert [(h["host"], h["changed"], h["rebooted"]) for h in result["hosts"]] == [
        ("rpi-1", 0, False),
        ("rpi-2", 0, False),
    ], run.output
    assert all(h["not_reverted"] == [] for h in result["hosts"]), run.output
    assert snapshots(bed["containers"]) == before


def test_a_host_without_a_record_is_reported_not_guessed(bed: dict) -> None:
    """A host prepared by an older pi-k8s has pi_prereq's files but no record: the reset
    names them instead of removing or keeping them silently."""
    own = "/etc/modules-load.d/k3s.conf"
    sh(
        bed["bed"],
        "rpi-1",
        f"printf '# Ansible managed\\n# Kernel modules k3s needs\\noverlay\\n' > {own}",
    )
    try:
        run = reset_cli(bed["inventory"], "--json")
        assert run.exit_code == 0, run.output
        result = json.loads(run.stdout)
        warned = {h["host"]: h["not_reverted"] for h in result["hosts"]}
        assert warned["rpi-2"] == []
        assert len(warned["rpi-1"]) == 1 and f"the files {own} are left" in warned["rpi-1"][0]
        assert "warning: rpi-1 has no record of its state before pi-k8s" in run.output
        assert sh(bed["bed"], "rpi-1", f"cat {own}").stdout.endswith("overlay\n")
    finally:
        sh(bed["bed"], "rpi-1", f"rm -f {own}")


def test_a_host_an_older_pi_k8s_prepared_loses_k3s_and_is_reported(bed: dict, airgap: Path) -> None:
    """rpi-2 already holds pi_prereq's module file when bootstrap takes its record (as after
    an older pi-k8s): the record says so, and reset removes k3s but trusts nothing else."""
    own = "/etc/modules-load.d/k3s.conf"
    text = "# Ansible managed\\n# Kernel modules k3s needs, loaded at every boot.\\noverlay\\n"
    sh(bed["bed"], "rpi-2", f"printf '{text}' > {own}")
    try:
        code, output = run_bootstrap(bed["inventory"], airgap, "--no-verify")
        OUTPUTS.append(output)
        assert code == 0, output
        bed["tokens"].append((paths.state_dir() / "clusters" / NAME / "token").read_text().strip())
        record = json.loads(sh(bed["bed"], "rpi-2", f"cat {STATE}/original-state.json").stdout)
        assert record["pi_k8s_before"] == [own]
        run = reset_cli(bed["inventory"], "--json")
        assert run.exit_code == 0, run.output
        result = json.loads(run.stdout)
        warned = {h["host"]: h["not_reverted"] for h in result["hosts"]}
        assert warned["rpi-1"] == []
        assert len(warned["rpi-2"]) == 1, warned
        assert "has a record taken after a pi-k8s had prepared it" in warned["rpi-2"][0]
        assert_k3s_gone(bed["bed"])
        assert sh(bed["bed"], "rpi-2", f"ls {STATE}").returncode != 0  # record removed too
    finally:
        sh(bed["bed"], "rpi-2", f"rm -f {own}")


def test_no_token_is_in_any_output_artifact_or_journal(bed: dict) -> None:
    secrets = [token.split("::server:")[-1] for token in bed["tokens"]]
    assert len(secrets) == 2 and all(len(secret) >= 32 for secret in secrets)
    assert not any(secret in output for output in OUTPUTS for secret in secrets)
    leaks = [
        str(f)
        for f in (paths.state_dir() / "runs").rglob("*")
        if f.is_file() and any(secret.encode() in f.read_bytes() for secret in secrets)
    ]
    assert leaks == []
    for host in ("rpi-1", "rpi-2"):
        journal = sh(bed["bed"], host, "journalctl --no-pager -o cat").stdout
        assert journal and not any(secret in journal for secret in secrets), host
