"""`pi-k8s bootstrap` on testbed hosts with the k3s stand-in, end to end.

The stand-in (tests/standin/) replaces the k3s binary, which cannot be downloaded here;
it is installed through the same airgap path (binary + sha256sum file) as real k3s.
Everything else is real: Ansible over SSH, systemd units, files, ports, node registration.
"""

from __future__ import annotations

import json
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from pi_k8s import paths, runner
from pi_k8s import testbed as tb
from tests.conftest import (
    K3S_SYSCTLS,
    K3S_VERSION,
    airgap_for,
    cli,
    make_testbed,
    run_bootstrap,
    standin,
    sysctl_path,
    turn_k3s_sysctls_off,
)
from tests.conftest import (
    host_sh as sh,
)
from tests.testbed_inventory import cluster_inventory

pytestmark = pytest.mark.testbed
# Ansible's own strategy, as users run by default (tests/integration/conftest.py).
ANSIBLES_OWN_STRATEGY = True

VERSION = K3S_VERSION
NEWER = "v1.31.5+k3s1"
FLAGS = ("cgroup_memory=1", "cgroup_enable=memory")


def write_inventory(bed: tb.Testbed, servers: list[str], agents: list[str], path: Path) -> Path:
    """An inventory as a user would write it by hand, from the testbed's host list.

    The server group comes first, as in `pi-k8s inventory`'s: the play's first host is a
    server, on which Ansible decides the first play's run_once tasks (sorted keys would put
    the agents first, which once hid a token read skipped for every host).
    """
    path.write_text(yaml.safe_dump(cluster_inventory(bed, servers, agents), sort_keys=False))
    return path


def recap(output: str) -> dict[str, dict[str, int]]:
    """The per-host recap table printed after the run (tab-separated when piped)."""
    lines = output.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("# site.yml:"))
    header = lines[start + 1].split("\t")
    table = {}
    for line in lines[start + 2 :]:
        fields = line.split("\t")
        if len(fields) != len(header):
            break
        table[fields[0]] = dict(zip(header[1:], map(int, fields[1:]), strict=True))
    return table


# ----------------------------------------------------------------------------- 1 + 2


@pytest.fixture(scope="module")
def small(
    tmp_path_factory: pytest.TempPathFactory, controller_home: Path, airgap: Path
) -> Iterator[dict]:
    """1 server + 2 agents, bootstrapped once for the tests of this group.

    The k3s sysctls start at 0 in every host, so verify's sysctl checks pass only if
    pi_prereq set them.
    """
    for bed in make_testbed("boot1", "10.213.20.0/24", nodes=3):
        inv = write_inventory(
            bed, ["rpi-1"], ["rpi-2", "rpi-3"], tmp_path_factory.mktemp("inv") / "hosts.yml"
        )
        turn_k3s_sysctls_off(bed)
        code, output = run_bootstrap(inv, airgap)
        yield {"bed": bed, "inventory": inv, "code": code, "output": output}


def test_first_run_succeeds_and_every_node_is_ready(small: dict) -> None:
    assert small["code"] == 0, small["output"]
    nodes = json.loads(sh(small["bed"], "rpi-1", "k3s kubectl get nodes -o json").stdout)
    ready = {
        n["metadata"]["name"]: next(
            c["status"] for c in n["status"]["conditions"] if c["type"] == "Ready"
        )
        for n in nodes["items"]
    }
    assert ready == {"rpi-1": "True", "rpi-2": "True", "rpi-3": "True"}
    assert ", 0 failed," in small["output"]  # verify ran at the end and passed


def test_the_role_set_the_k3s_sysctls_on_every_host(small: dict) -> None:
    for host in ("rpi-1", "rpi-2", "rpi-3"):
        for key in K3S_SYSCTLS:
            assert sh(small["bed"], host, f"cat {sysctl_path(key)}").stdout.strip() == "1", (
                host,
                key,
            )


def test_kubeconfig_points_at_the_server_and_is_private(small: dict, controller_home: Path) -> None:
    path = controller_home / ".kube" / "boot1.yaml"
    assert path.stat().st_mode & 0o777 == 0o600
    config = yaml.safe_load(path.read_text())
    server_ip = next(h.ip for h in small["bed"].hosts if h.name == "rpi-1")
    assert config["clusters"][0]["cluster"]["server"] == f"https://{server_ip}:6443"
    assert config["current-context"] == "boot1"
    assert not (controller_home / ".kube" / "config").exists()  # merged only when asked


def test_cmdline_flags_once_and_one_reboot_per_host(small: dict) -> None:
    for host in ("rpi-1", "rpi-2", "rpi-3"):
        line = sh(small["bed"], host, "cat /boot/firmware/cmdline.txt").stdout
        assert line.count("\n") == 1
        for flag in FLAGS:
            assert line.split().count(flag) == 1, line
        placeholder = sh(small["bed"], host, "cat /boot/cmdline.txt").stdout
        assert "cgroup" not in placeholder
        assert sh(small["bed"], host, "cat /var/lib/pi-k8s/reboot-count").stdout.strip() == "1"


def test_second_run_changes_nothing_and_does_not_reboot(small: dict, airgap: Path) -> None:
    code, output = run_bootstrap(small["inventory"], airgap, "--no-verify")
    assert code == 0, output
    table = recap(output)
    assert set(table) == {"rpi-1", "rpi-2", "rpi-3"}
    for host, stats in table.items():
        assert stats["changed"] == 0, (host, output)
        assert stats["failed"] == 0 and stats["unreachable"] == 0
        assert sh(small["bed"], host, "cat /var/lib/pi-k8s/reboot-count").stdout.strip() == "1"
        line = sh(small["bed"], host, "cat /boot/firmware/cmdline.txt").stdout
        assert all(line.split().count(flag) == 1 for flag in FLAGS)
        # The binary's digests are kept by its stat (host_state's sha256_cache), private.
        cache = sh(small["bed"], host, f"stat -c %a {HASH_CACHE} && cat {HASH_CACHE}").stdout
        mode, kept = cache.split("\n", 1)
        binary = sh(small["bed"], host, "sha256sum /usr/local/bin/k3s").stdout.split()[0]
        assert (mode, json.loads(kept)["/usr/local/bin/k3s"]["sha256"]) == ("600", binary)
    # Nothing was due anywhere: the plays that change hosts where something is ran on none
    # (the agents were read in the first play; the first server's play reads its server).
    ran = play_hosts(last_site_run())
    assert (ran[PREPARE], ran[AGENTS]) == (set(), set()), ran
    assert set(hash_reads(last_site_run())) == {"rpi-1", "rpi-2", "rpi-3"}
    # The first play's read gathers the network facts only where the host's own address is
    # read (the server: the API address); an agent's leaves them out (pi_k8s_validate).
    facts = facts_read(last_site_run())
    assert "ansible_default_ipv4" in facts["rpi-1"], sorted(facts["rpi-1"])
    for agent in ("rpi-2", "rpi-3"):
        assert "ansible_nodename" in facts[agent], sorted(facts[agent])
        assert not {"ansible_default_ipv4", "ansible_interfaces"} & facts[agent], sorted(
            facts[agent]
        )


HASH_CACHE = "/var/lib/pi-k8s/k3s.hashes.json"


def run_events(run_dir: Path) -> list[dict]:
    """The job events of one run, in the order they happened."""
    events = [json.loads(p.read_text()) for p in run_dir.glob("artifacts/*/job_events/*.json")]
    return sorted(events, key=lambda e: e.get("counter", 0))


def hash_reads(run_dir: Path, kind: str = "sha256_cache") -> dict[str, list[dict[str, int]]]:
    """Per host, the hits and misses of k3s_install's digest cache (or, with
    ``kind="command_cache"``, of its cached `k3s --version`), read by read: each host_state
    call that used it (k3s_install's reads, and pi_prereq's first-play read of an agent,
    which reads k3s_install's state in the same round trip)."""
    reads: dict[str, list[dict[str, int]]] = {}
    for event in run_events(run_dir):
        data = event.get("event_data", {})
        res = data.get("res", {})
        read = data.get("task_action", "").endswith("host_state")
        if event.get("event") == "runner_on_ok" and read and sum(res.get(kind, {}).values()) > 0:
            reads.setdefault(data["host"], []).append(res[kind])
    return reads


def facts_read(run_dir: Path) -> dict[str, set[str]]:
    """Per host, the names of the facts its first host_state read of the run gathered."""
    facts: dict[str, set[str]] = {}
    for event in run_events(run_dir):
        data = event.get("event_data", {})
        gathered = data.get("res", {}).get("ansible_facts")
        read = data.get("task_action", "").endswith("host_state")
        if event.get("event") == "runner_on_ok" and read and gathered:
            facts.setdefault(data["host"], set(gathered))
    return facts


def play_hosts(run_dir: Path) -> dict[str, set[str]]:
    """Per play of the run, the hosts that ran a task of it (ok, changed, failed or skipped)."""
    hosts: dict[str, set[str]] = {}
    for event in run_events(run_dir):
        data = event.get("event_data", {})
        if event.get("event") == "playbook_on_play_start":
            hosts.setdefault(data.get("play", ""), set())
        elif event.get("event", "").startswith("runner_on_") and data.get("host"):
            hosts.setdefault(data.get("play", ""), set()).add(data["host"])
    return hosts


def last_site_run() -> Path:
    return max((paths.state_dir() / "runs").glob("*-site"), key=lambda p: p.stat().st_mtime)


# site.yml's plays that run only where the first play's read found something to do
# (plugins/filter/hosts_due.py).
PREPARE = "Prepare every host for k3s."
AGENTS = "Join the agents."


def test_drift_in_each_role_is_repaired_on_that_host_only(small: dict, airgap: Path) -> None:
    """One thing changed per role, each on one host, then a no-op run: it repairs exactly
    that, on that host, and nothing on the others (issue 18: fewer round trips must not
    stop a re-run from finding drift).

    - rpi-3 (pi_prereq): a cgroup flag taken out of cmdline.txt;
    - rpi-2 (pi_prereq): /etc/sysctl.d/90-k3s.conf edited, and the k3s sysctls off in the
      running kernel;
    - rpi-2 (k3s_install): the k3s binary replaced;
    - rpi-1 (k3s_install): a setting added to /etc/rancher/k3s/config.yaml.
    """
    bed = small["bed"]
    # The digests are cached by the first no-op run (the first converge read no binary):
    # test_second_run_changes_nothing ran one; run alone, this test runs its own.
    if any(sh(bed, h, f"test -s {HASH_CACHE}").returncode for h in ("rpi-1", "rpi-2", "rpi-3")):
        code, output = run_bootstrap(small["inventory"], airgap, "--no-verify")
        assert code == 0, output
    cmdline = "/boot/firmware/cmdline.txt"
    sh(bed, "rpi-3", f"sed -i 's/ cgroup_memory=1//' {cmdline}")
    assert "cgroup_memory=1" not in sh(bed, "rpi-3", f"cat {cmdline}").stdout
    sh(bed, "rpi-2", "sed -i 's/= *1/= 0/' /etc/sysctl.d/90-k3s.conf")
    turn_k3s_sysctls_off(bed, ["rpi-2"])
    k3s_sum = sh(bed, "rpi-2", "sha256sum /usr/local/bin/k3s").stdout.split()[0]
    sh(bed, "rpi-2", "cd /usr/local/bin && cp /bin/true .k3s && mv .k3s k3s")
    config = sh(bed, "rpi-1", "cat /etc/rancher/k3s/config.yaml").stdout
    sh(bed, "rpi-1", "echo 'kubelet-arg: [max-pods=50]' >> /etc/rancher/k3s/config.yaml")
    # A file and a directory in the same task as the drifted file (one host_files call
    # each): the repair leaves them as they are (a file not written again keeps its inode
    # and mtime; the directory its inode and mode, its mtime moves with the rename in it).
    same_task = {
        "rpi-1": ("/etc/systemd/system/k3s.service", "/etc/rancher/k3s"),
        "rpi-2": ("/etc/modules-load.d/k3s.conf", "/var/lib/pi-k8s"),
    }

    def untouched() -> dict[str, str]:
        return {
            h: sh(bed, h, f"stat -c '%n %i %Y' {f} && stat -c '%n %i %a' {d}").stdout
            for h, (f, d) in same_task.items()
        }

    before = untouched()

    code, out = cli(
        "bootstrap", "-i", str(small["inventory"]), "--airgap", str(airgap),
        "--k3s-version", K3S_VERSION, "--skip-workloads", "--no-verify", "--json",
    )  # fmt: skip
    assert code == 0, out
    changes = {h: sorted(t) for h, t in json.loads(out)["run"]["changes"].items()}
    assert changes == {
        "rpi-1": [  # k3s_install: config.yaml written back, k3s restarted for it
            "Ensure k3s's config.yaml, its directory and the systemd unit are in place.",
            "Restart k3s.",
        ],
        "rpi-2": [  # k3s_install: the verified binary back in place; pi_prereq: the sysctls
            "Ensure pi-k8s's state directory and the swap, modules and sysctl files are in place.",
            "Ensure the sysctls k3s needs are set in the running kernel.",
            "Ensure the verified binary from the airgap directory is in place.",
            "Restart k3s.",
        ],
        "rpi-3": [  # pi_prereq: the flag back in cmdline.txt, and the reboot it needs
            "Count the reboots pi-k8s asked for.",
            "Ensure the memory cgroup is enabled in cmdline.txt.",
        ],
    }, changes
    assert sh(bed, "rpi-1", "cat /etc/rancher/k3s/config.yaml").stdout == config
    assert untouched() == before
    assert sh(bed, "rpi-2", "sha256sum /usr/local/bin/k3s").stdout.split()[0] == k3s_sum
    # Only the replaced binary was read again; the other hosts' digests came from the cache
    # (the binary and the image archive each). A replacement changes the file's stat. The
    # agents are read in the first play (in pi_prereq's round trip, which keeps no digest),
    # then again in the agents' play where something is due: rpi-2 for its binary, rpi-3
    # for its cmdline.txt (a pi_prereq change, which may reboot the host). rpi-2's first
    # read hashed the binary, so the gate read it again to keep the digest (after the first
    # play's checks); its last read finds that digest, unless the replacement was under
    # host_state's 2 s "racy" age then (not kept). rpi-3's first read found both digests.
    run_dir = last_site_run()
    reads = hash_reads(run_dir)
    assert reads["rpi-2"][:2] == [{"hits": 1, "misses": 1}] * 2, reads
    assert [sum(read.values()) for read in reads["rpi-2"]] == [2, 2, 2], reads
    cached = {"hits": 2, "misses": 0}
    assert (reads["rpi-1"], reads["rpi-3"]) == ([cached], [cached, cached]), reads
    # `k3s --version` ran again only where the binary was replaced (its output is kept by
    # the binary's stat too); the agents' play then reads the repaired binary's version.
    versions = hash_reads(run_dir, "command_cache")
    assert versions["rpi-2"][0] == {"hits": 0, "misses": 1}, versions
    one = {"hits": 1, "misses": 0}
    assert (versions["rpi-1"], versions["rpi-3"]) == ([one], [one, one]), versions
    ran = play_hosts(run_dir)
    assert (ran[PREPARE], ran[AGENTS]) == ({"rpi-2", "rpi-3"}, {"rpi-2", "rpi-3"}), ran
    for key in K3S_SYSCTLS:
        assert sh(bed, "rpi-2", f"cat {sysctl_path(key)}").stdout.strip() == "1", key
    assert "= 0" not in sh(bed, "rpi-2", "cat /etc/sysctl.d/90-k3s.conf").stdout
    line = sh(bed, "rpi-3", f"cat {cmdline}").stdout
    assert all(line.split().count(flag) == 1 for flag in FLAGS), line
    reboots = {h: sh(bed, h, "cat /var/lib/pi-k8s/reboot-count").stdout.strip() for h in changes}
    assert reboots == {"rpi-1": "1", "rpi-2": "1", "rpi-3": "2"}  # one more, for the flag
    for host in ("rpi-1", "rpi-2", "rpi-3"):
        assert sh(bed, host, "systemctl is-active k3s k3s-agent | grep -qx active").returncode == 0


def test_token_appears_in_no_output_artifact_or_log(small: dict) -> None:
    token_file = paths.state_dir() / "clusters" / "boot1" / "token"
    assert token_file.stat().st_mode & 0o777 == 0o600
    token = token_file.read_text().strip()
    assert len(token) >= 32
    assert token not in small["output"]
    leaks = []
    for f in (paths.state_dir() / "runs").rglob("*"):
        if f.is_file() and token.encode() in f.read_bytes():
            leaks.append(str(f))
    assert leaks == []
    for host in ("rpi-1", "rpi-2", "rpi-3"):
        journal = sh(small["bed"], host, "journalctl --no-pager -o cat").stdout
        assert journal and token not in journal
        for path in (
            "/etc/rancher/k3s/config.yaml",
            "/etc/systemd/system/k3s.service.env",
            "/etc/systemd/system/k3s-agent.service.env",
        ):
            proc = sh(small["bed"], host, f"stat -c %a {path}")
            # Every host has config.yaml; the server has k3s.service.env, agents k3s-agent's.
            should_exist = "service.env" not in path or (("k3s-agent" in path) != (host == "rpi-1"))
            assert (proc.returncode == 0) == should_exist, (host, path, proc.stderr)
            if should_exist:
                assert proc.stdout.strip() == "600", (host, path, proc.stdout)


def test_tampered_binary_is_refused_before_install(
    small: dict, tmp_path: Path, airgap: Path
) -> None:
    bad = airgap_for(tmp_path / "bad", NEWER, copy=True)
    standin.tamper(bad, "k3s")  # appends a line: works on a copy of a real release too
    code, output = run_bootstrap(small["inventory"], bad, "--no-verify", version=NEWER)
    assert code == 4, output
    assert "rpi-1 failed" in output
    assert "checksum" in output.lower()
    for host in ("rpi-1", "rpi-2", "rpi-3"):
        version = sh(small["bed"], host, "/usr/local/bin/k3s --version").stdout
        assert VERSION in version and NEWER not in version
        assert sh(small["bed"], host, "ls /var/lib/pi-k8s/download 2>/dev/null").stdout == ""


def test_a_host_lost_mid_run_is_named_and_a_rerun_completes(small: dict, airgap: Path) -> None:
    bed = small["bed"]
    victim = next(h for h in bed.hosts if h.name == "rpi-3")
    stopped = threading.Event()
    # Something to do on rpi-3, so the agents' play has it (a no-op run leaves that play
    # without hosts: plugins/filter/hosts_due.py); the re-run below puts it right.
    sh(bed, "rpi-3", "echo 'kubelet-arg: [max-pods=50]' >> /etc/rancher/k3s/config.yaml")

    def on_event(event: runner.RunEvent) -> None:
        # Stop the host as soon as the agents' play starts: it is then mid-run.
        if event.kind == "play" and "agent" in event.play.lower() and not stopped.is_set():
            stopped.set()
            subprocess.run(["podman", "stop", "-t", "0", victim.container], check=True)

    try:
        result = runner.run_playbook(
            "site.yml",
            inventory=small["inventory"],
            extravars={
                "cluster_k3s_source": "airgap",
                "cluster_k3s_airgap_dir": str(airgap),
                "cluster_k3s_version": VERSION,
            },
            on_event=on_event,
        )
        assert stopped.is_set()
        assert not result.ok
        assert result.unreachable_hosts == ["rpi-3"]
        assert result.hosts["rpi-1"].failed == 0 and result.hosts["rpi-2"].failed == 0
        with pytest.raises(Exception, match="rpi-3 unreachable"):
            result.raise_for_status()
    finally:
        subprocess.run(["podman", "start", victim.container], check=True)
        tb.up(3, name=bed.name, subnet="10.213.20.0/24")
    code, output = run_bootstrap(small["inventory"], airgap)
    assert code == 0, output


# ----------------------------------------------------------------------------- 3 + 1


def test_three_servers_and_one_agent(tmp_path: Path, controller_home: Path, airgap: Path) -> None:
    for bed in make_testbed("boot3", "10.213.21.0/24", nodes=4):
        inv = write_inventory(bed, ["rpi-1", "rpi-2", "rpi-3"], ["rpi-4"], tmp_path / "hosts.yml")
        code, output = run_bootstrap(inv, airgap)
        assert code == 0, output
        nodes = json.loads(sh(bed, "rpi-2", "k3s kubectl get nodes -o json").stdout)["items"]
        by_name = {n["metadata"]["name"]: n for n in nodes}
        assert set(by_name) == {"rpi-1", "rpi-2", "rpi-3", "rpi-4"}
        for name, node in by_name.items():
            ready = next(c for c in node["status"]["conditions"] if c["type"] == "Ready")
            assert ready["status"] == "True", name
            is_etcd = "node-role.kubernetes.io/etcd" in node["metadata"]["labels"]
            assert is_etcd == (name != "rpi-4"), name
        first = sh(bed, "rpi-1", "cat /etc/rancher/k3s/config.yaml").stdout
        assert "cluster-init: true" in first
        joined = sh(bed, "rpi-3", "cat /etc/rancher/k3s/config.yaml").stdout
        rpi1 = next(h.ip for h in bed.hosts if h.name == "rpi-1")
        assert f"server: https://{rpi1}:6443" in joined
        kubeconfig = yaml.safe_load((controller_home / ".kube" / "boot3.yaml").read_text())
        assert kubeconfig["clusters"][0]["cluster"]["server"] == f"https://{rpi1}:6443"


def test_check_mode_plans_an_upgrade_and_changes_nothing(small: dict, tmp_path: Path) -> None:
    newer = airgap_for(tmp_path / "newer", NEWER)
    before = {
        h: sh(small["bed"], h, "sha256sum /usr/local/bin/k3s").stdout for h in ("rpi-1", "rpi-2")
    }
    code, output = run_bootstrap(small["inventory"], newer, "--check", version=NEWER)
    assert code == 0, output
    plan = output.split("plan (check mode: nothing was changed)", 1)[1]
    for host in ("rpi-1", "rpi-2", "rpi-3"):
        assert f"{host}\t" in plan
    assert f"k3s would be upgraded from {VERSION} to {NEWER}" in plan
    after = {
        h: sh(small["bed"], h, "sha256sum /usr/local/bin/k3s").stdout for h in ("rpi-1", "rpi-2")
    }
    assert after == before
