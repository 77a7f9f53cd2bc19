"""SSH the way the user set it up (issue 17 §5), on a 2-host testbed ("sshx",
10.213.121.0/24; PI_K8S_TEST_SSH_NAME and PI_K8S_TEST_SSH_SUBNET change them).

rpi-2 is made the awkward host a user may have, in this module's fixture (not the image):
- reachable only through rpi-1: inside rpi-2, iptables rejects TCP 22 from any address but
  rpi-1's, so the controller's own connection fails (``No route to host``) and only a
  user's SSH config with ``ProxyJump rpi-1`` reaches it;
- its ``pi`` user's sudo wants a password (the image's NOPASSWD sudoers file is replaced
  by ``pi ALL=(ALL) ALL`` and pi gets a password), as on Ubuntu's default user.

The real `pi-k8s` runs in its own process, as a user runs it: `discover --ssh-config
--host` finds both hosts through that config (and through ~/.ssh/config when it is the
user's own, without --ssh-config), `inventory` renders them, `bootstrap`
without -K is refused with a hint naming -K, with -K (the password on stdin; the process
has no terminal, so getpass reads it there) installs k3s through the jump host. The
password is then searched for in everything the commands printed and in every file under
$PI_K8S_STATE_DIR, ansible-runner's artifacts included.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from pi_k8s import testbed as tb
from tests.conftest import STANDIN_VERSION, host_sh, make_testbed

pytestmark = pytest.mark.testbed
# Ansible's own strategy, as users run by default (tests/integration/conftest.py).
ANSIBLES_OWN_STRATEGY = True

NAME = os.environ.get("PI_K8S_TEST_SSH_NAME", "sshx")
SUBNET = os.environ.get("PI_K8S_TEST_SSH_SUBNET", "10.213.121.0/24")
PASSWORD = f"sshx-pw-{uuid.uuid4().hex}"
OUTPUTS: list[str] = []  # everything the commands printed
S: dict[str, Any] = {}  # what a step leaves for the next ones


def pi_k8s(*args: str, stdin: str = "", timeout: float = 900) -> subprocess.CompletedProcess[str]:
    """The installed `pi-k8s` in a new session (no controlling terminal: getpass reads stdin)."""
    proc = subprocess.run(
        [str(Path(sys.executable).parent / "pi-k8s"), *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=timeout,
        start_new_session=True,
        env={**os.environ, "COLUMNS": "200"},
    )
    OUTPUTS.append(proc.stdout + proc.stderr)
    return proc


def ip_of(bed: tb.Testbed, name: str) -> str:
    return next(h.ip for h in bed.hosts if h.name == name)


@pytest.fixture(scope="module")
def bed(controller_home: Path) -> Iterator[tb.Testbed]:
    yield from make_testbed(NAME, SUBNET, nodes=2)


@pytest.fixture(scope="module")
def setup(bed: tb.Testbed, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    jump, target = ip_of(bed, "rpi-1"), ip_of(bed, "rpi-2")
    for command in (
        f"iptables -I INPUT -p tcp --dport 22 ! -s {jump} "
        "-j REJECT --reject-with icmp-host-prohibited",
        f"echo 'pi:{PASSWORD}' | chpasswd",
        "rm -f /etc/sudoers.d/010_pi-nopasswd",
        "echo 'pi ALL=(ALL) ALL' > /etc/sudoers.d/010_pi-passwd",
        "chmod 0440 /etc/sudoers.d/010_pi-passwd",
    ):
        proc = host_sh(bed, "rpi-2", command)
        assert proc.returncode == 0, (command, proc.stderr)
    files = tmp_path_factory.mktemp("ssh-files")
    # The user's config: the testbed's own, plus the jump for rpi-2.
    text = bed.ssh_config.read_text().replace("Host rpi-2\n", "Host rpi-2\n  ProxyJump rpi-1\n")
    assert f"HostName {target}" in text and "ProxyJump rpi-1" in text
    config = files / "ssh_config"
    config.write_text(text)
    spec = files / "cluster.yaml"
    spec.write_text(
        yaml.safe_dump(
            {
                "name": NAME,
                "k3s": {"version": STANDIN_VERSION},
                "servers": 1,
                "ssh": {"known_hosts": str(files / "known_hosts")},
            }
        )
    )
    return {"config": config, "spec": spec, "files": files}


def test_0_the_controller_cannot_reach_rpi_2_directly(bed: tb.Testbed, setup) -> None:
    target = ip_of(bed, "rpi-2")
    with pytest.raises(OSError), socket.create_connection((target, 22), timeout=5):
        pass
    direct = subprocess.run(
        ["ssh", "-F", str(bed.ssh_config), "-o", "BatchMode=yes", "rpi-2", "hostname"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert direct.returncode == 255, direct
    jumped = subprocess.run(
        ["ssh", "-F", str(setup["config"]), "-o", "BatchMode=yes", "rpi-2", "hostname"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert (jumped.returncode, jumped.stdout.strip()) == (0, "rpi-2"), jumped
    # discover by address, without the config's ProxyJump, cannot log in either.
    proc = pi_k8s(
        "discover", "--no-mdns", "--host", target,
        "--known-hosts", str(setup["files"] / "kh-direct"), "--json",
    )  # fmt: skip
    assert proc.returncode == 3, proc.stdout + proc.stderr
    # NothingFound (exit 3) after the hosts, printed as ever
    (host,) = json.loads(proc.stdout)
    assert host["ip"] == target and host["ssh_error"] and not host["is_pi"], host


def test_1_discover_follows_the_ssh_config_through_the_jump_host(bed: tb.Testbed, setup) -> None:
    hosts_json = setup["files"] / "hosts.json"
    proc = pi_k8s(
        "discover", "--ssh-config", str(setup["config"]), "--host", "rpi-1", "--host", "rpi-2",
        "--known-hosts", str(setup["files"] / "known_hosts"), "--json", "-o", str(hosts_json),
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    found = {h["hostname"]: h for h in json.loads(proc.stdout)}
    assert set(found) == {"rpi-1", "rpi-2"}, found
    for name, host in found.items():
        assert host["is_pi"] and host["ssh_error"] is None, host
        assert host["ip"] == ip_of(bed, name)
        assert host["ssh_host"] == name and host["ssh_user"] == "pi"
        assert host["ssh_config"] == str(setup["config"])
        assert host["sources"] == ["ssh-config", "ssh"]
    assert json.loads(hosts_json.read_text()) == json.loads(proc.stdout)
    # The host keys are recorded under each host's address, rpi-2's read through the jump.
    known = (setup["files"] / "known_hosts").read_text().split()
    assert ip_of(bed, "rpi-2") in known and ip_of(bed, "rpi-1") in known
    inventory = setup["files"] / "hosts.yml"
    proc = pi_k8s(
        "inventory", "-s", str(setup["spec"]), "-f", str(hosts_json), "-o", str(inventory)
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    data = yaml.safe_load(inventory.read_text())["all"]["children"]["k3s_cluster"]
    hv = {**data["children"]["server"]["hosts"], **data["children"]["agent"]["hosts"]}
    for name in ("rpi-1", "rpi-2"):
        assert hv[name]["ansible_host"] == name  # OpenSSH applies the same Host block
        assert hv[name]["pi_k8s_ip"] == ip_of(bed, name)
        assert hv[name]["ansible_ssh_extra_args"] == f"-F {setup['config']}"
    S["inventory"] = inventory
    S["server"] = next(iter(data["children"]["server"]["hosts"]))


def test_1b_without_ssh_config_discover_reads_the_users_own(
    bed: tb.Testbed, setup, controller_home: Path
) -> None:
    ssh_dir = controller_home / ".ssh"
    ssh_dir.mkdir(mode=0o700, exist_ok=True)
    (ssh_dir / "config").write_text(setup["config"].read_text())
    try:
        proc = pi_k8s(
            "discover", "--host", "rpi-2", "--known-hosts", str(setup["files"] / "kh-home"),
            "--json",
        )  # fmt: skip
    finally:
        (ssh_dir / "config").unlink()
    assert proc.returncode == 0, proc.stdout + proc.stderr
    (host,) = json.loads(proc.stdout)
    assert (host["hostname"], host["ip"], host["is_pi"]) == ("rpi-2", ip_of(bed, "rpi-2"), True)
    assert host["ssh_host"] == "rpi-2" and host["ssh_config"] is None


def test_2_bootstrap_without_K_is_refused_with_a_hint_naming_K(bed: tb.Testbed, setup, airgap):
    proc = pi_k8s(
        "bootstrap", "-i", str(S["inventory"]), "--airgap", str(airgap),
        "--k3s-version", STANDIN_VERSION, "--skip-workloads",
    )  # fmt: skip
    text = " ".join((proc.stdout + proc.stderr).split())
    assert proc.returncode == 4, text
    assert "error: site.yml failed: sudo on rpi-2 asks for a password and none was given." in text
    assert "hint: Pass -K (--ask-become-pass) to be asked for the sudo password" in text
    assert "Traceback" not in text
    for host in ("rpi-1", "rpi-2"):  # the validation play failed: nothing was installed
        assert host_sh(bed, host, "test -e /etc/rancher/k3s").returncode == 1, host


def test_3_bootstrap_with_a_wrong_password_is_refused(bed: tb.Testbed, setup, airgap) -> None:
    proc = pi_k8s(
        "bootstrap", "-i", str(S["inventory"]), "--airgap", str(airgap),
        "--k3s-version", STANDIN_VERSION, "--skip-workloads", "-K",
        stdin="not-" + PASSWORD + "\n",
    )  # fmt: skip
    text = " ".join((proc.stdout + proc.stderr).split())
    assert proc.returncode == 4, text
    assert "sudo on rpi-2 refused the password." in text
    assert "-K (--ask-become-pass)" in text and "Traceback" not in text


def test_4_bootstrap_with_K_installs_k3s_through_the_jump_host(
    bed: tb.Testbed, setup, airgap
) -> None:
    proc = pi_k8s(
        "bootstrap", "-i", str(S["inventory"]), "--airgap", str(airgap),
        "--k3s-version", STANDIN_VERSION, "--skip-workloads", "-K", "--json",
        stdin=PASSWORD + "\n",
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    out = json.loads(proc.stdout)
    assert out["run"]["status"] == "successful"
    assert out["verify"] is None  # -K skips verify (testinfra's sudo asks no password)
    assert "-K: the verification at the end is skipped" in proc.stderr
    assert set(out["run"]["recap"]) == {"rpi-1", "rpi-2"}
    assert all(r["failed"] == 0 and r["unreachable"] == 0 for r in out["run"]["recap"].values())
    server = S["server"]
    agent = "rpi-1" if server == "rpi-2" else "rpi-2"
    assert host_sh(bed, server, "systemctl is-active k3s").stdout.strip() == "active"
    assert host_sh(bed, agent, "systemctl is-active k3s-agent").stdout.strip() == "active"
    # The agent joins the server at its address (pi_k8s_ip), not at the SSH alias.
    config = yaml.safe_load(host_sh(bed, agent, "cat /etc/rancher/k3s/config.yaml").stdout)
    assert config["server"] == f"https://{ip_of(bed, server)}:6443"
    # ansible-playbook was asked for the password (--ask-become-pass), not given it.
    artifacts = Path(out["run"]["artifacts"])
    command = json.loads((artifacts / "command").read_text())
    assert "--ask-become-pass" in command["command"]
    assert "BECOME password" in (artifacts / "stdout").read_text()
    S["artifacts"] = artifacts


def test_5_the_password_is_nowhere_in_output_or_state(setup) -> None:
    state = Path(os.environ["PI_K8S_STATE_DIR"])
    assert any(state.glob("runs/*/artifacts/*/job_events/*.json"))
    hits = [
        str(p)
        for p in [*state.rglob("*"), *setup["files"].rglob("*")]
        if p.is_file() and PASSWORD.encode() in p.read_bytes()
    ]
    assert hits == []
    assert [o for o in OUTPUTS if PASSWORD in o] == []
    assert len(OUTPUTS) >= 5
