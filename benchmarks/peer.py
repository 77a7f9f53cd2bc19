"""Time k3s-io/k3s-ansible's site.yml (airgap) beside pi-k8s's site.yml on testbed hosts.

Usage: .venv/bin/python benchmarks/peer.py --peer DIR --install-sh PATH
       [--rounds 3] [--nodes 3] [--fast]

Not in CI and not in the test suite: it needs two things from outside this repository,
fetched by hand, and neither is copied into it.

- ``--peer DIR``: a k3s-io/k3s-ansible tree. With the session's mirror tool, fetch
  ``github:k3s-io/k3s-ansible`` (a bare git directory under /work/.mirror/), then
  ``mkdir -p DIR && git --git-dir=/work/.mirror/k3s-io+k3s-ansible/repo archive HEAD |
  tar -x -C DIR``; elsewhere ``git clone https://github.com/k3s-io/k3s-ansible DIR``.
- ``--install-sh PATH``: k3s's install script (k3s-io/k3s ``install.sh``, what
  https://get.k3s.io serves). From a mirror of ``github:k3s-io/k3s``:
  ``git --git-dir=<that dir> show HEAD:install.sh > PATH``. (The k3s snapshot can be too
  large for the mirror tool; any copy of that one file will do.)
- ``netaddr`` in this venv (``.venv/bin/pip install netaddr``): k3s-ansible's README
  requires it on the controller for the ``ansible.utils.ipwrap`` filter its roles use.

What it runs, ``--rounds`` times, the two tools interleaved (the order flips each round):

- k3s-ansible: ``playbooks/site.yml`` through ansible-runner, with k3s-ansible's own
  ansible.cfg, on a fresh testbed ``peerbench`` (10.213.23.0/24), in its airgap mode:
  ``airgap_dir`` holds the k3s stand-in's binary and image archive for the hosts' arch
  (the layout its README asks for) and the install script as ``k3s-install.sh``, which
  its airgap role uses instead of downloading get.k3s.io. Inventory: the testbed's
  connection variables (tests/testbed_inventory.py), ``k3s_version``, ``token``,
  ``api_endpoint`` (the server's address) and ``airgap_dir``; nothing else is changed.
  One thing is done to its hosts first: the testbed hosts look like Pis, so its
  raspberrypi role would add three cgroup flags to cmdline.txt and its handler would
  reboot (``ansible.builtin.reboot``, ``post_reboot_delay: 10``). A testbed container
  cannot reboot as Ansible checks it (``/proc/sys/kernel/random/boot_id`` is the
  machine's kernel's and never changes; the handler fails after its 60 s timeout), and
  k3s-ansible has no variable that turns the reboot off. So its hosts start with those
  three flags already in ``/boot/firmware/cmdline.txt`` (PEER_CMDLINE_FLAGS), as Pis
  prepared by an earlier run: its tasks all still run, the edit finds nothing to change
  and nothing reboots. pi-k8s's hosts get no such help: pi-k8s edits cmdline.txt and, in
  a container, records the reboot instead of doing it (``pi_prereq_reboot_method``).
- pi-k8s: its ``site.yml`` through pi_k8s.runner with the stand-in through the airgap
  path, as benchmarks/converge.py runs it: no verify (like ``bootstrap --no-verify``), on
  a fresh testbed ``pikbench`` (10.213.24.0/24); with ``--fast``, Mitogen's strategy.

Each tool runs twice per round: the first converge, then a re-run with nothing to change
(k3s-ansible's re-run still reports changes: it always runs the install script and
restarts k3s, and the script rewrites the agents' env file, so the token line goes back
in; the no-op's changed tasks are listed). Per run: wall time, changed count (the
runner's stats), tasks and round trips per host, controller CPU and peak RSS
(benchmarks/runprofile.py). With ``--keep DIR`` the runs' artifacts stay. It prints
the medians, the ratios pi-k8s / k3s-ansible and the load average at start and end. It
asserts nothing: figures, not tests.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests" / "standin"))

import build as standin  # noqa: E402

from benchmarks.converge import VERSION, strategy_env  # noqa: E402
from benchmarks.runprofile import RunProfile  # noqa: E402
from pi_k8s import runner  # noqa: E402
from pi_k8s import testbed as tb  # noqa: E402
from tests.testbed_inventory import cluster_inventory  # noqa: E402

PEER, PIK8S = "k3s-ansible", "pi-k8s"
TESTBEDS = {PEER: ("peerbench", "10.213.23.0/24"), PIK8S: ("pikbench", "10.213.24.0/24")}
# What k3s-ansible's raspberrypi role (tasks/prereq/Debian.yml) adds to cmdline.txt, and
# reboots for, when a flag is missing.
PEER_CMDLINE_FLAGS = "cgroup_enable=cpuset cgroup_memory=1 cgroup_enable=memory"
# Any string works as a k3s token (k3s-ansible's sample inventory uses "changeme!").
PEER_TOKEN = "peerbench-token"


def host_arch() -> tuple[str, str]:
    """(the stand-in's binary name, the arch in the image archive's name) for the hosts,
    which are containers on this machine's CPU."""
    machine = platform.machine()
    if machine in ("aarch64", "arm64"):
        return "k3s-arm64", "arm64"
    if machine.startswith("arm"):
        return "k3s-armhf", "arm"
    return "k3s", "amd64"


def peer_airgap(standin_dir: Path, install_sh: Path, dest: Path) -> Path:
    """k3s-ansible's airgap_dir: the binary and the image archive of the hosts' arch
    (its README's layout) and the install script under the name its airgap role looks
    for before it would download one (k3s-install.sh)."""
    binary, arch = host_arch()
    dest.mkdir(parents=True)
    shutil.copy2(standin_dir / binary, dest / binary)
    images = f"k3s-airgap-images-{arch}.tar.gz"
    shutil.copy2(standin_dir / images, dest / images)
    shutil.copy(install_sh, dest / "k3s-install.sh")
    (dest / "k3s-install.sh").chmod(0o755)
    return dest


def peer_cmdline_flags(bed: tb.Testbed) -> None:
    """Put k3s-ansible's cgroup flags into each host's cmdline.txt (the module docstring
    says why), at the end of its one line, as its raspberrypi role would."""
    for host in bed.hosts:
        subprocess.run(
            [
                "podman",
                "exec",
                host.container,
                "sed",
                "-i",
                f"1s/$/ {PEER_CMDLINE_FLAGS}/",
                "/boot/firmware/cmdline.txt",
            ],
            check=True,
        )


def peer_inventory(bed: tb.Testbed, airgap: Path, path: Path) -> Path:
    names = [h.name for h in bed.hosts]
    inv = cluster_inventory(bed, names[:1], names[1:])
    cluster: dict[str, Any] = inv["all"]["children"]["k3s_cluster"]  # type: ignore[index]
    server = cluster["children"]["server"]["hosts"][names[0]]["ansible_host"]
    cluster["vars"] |= {
        "k3s_version": VERSION,
        "token": PEER_TOKEN,
        "api_endpoint": server,
        "airgap_dir": str(airgap),
    }
    path.write_text(yaml.safe_dump(inv))
    return path


def pik8s_inventory(bed: tb.Testbed, path: Path) -> Path:
    names = [h.name for h in bed.hosts]
    path.write_text(yaml.safe_dump(cluster_inventory(bed, names[:1], names[1:])))
    return path


def changed_tasks(artifacts: Path) -> tuple[Counter[str], set[str]]:
    """Task name → how many hosts it changed, from the run's events; and the tasks whose
    results no_log hid (their events do not say whether they changed)."""
    names: Counter[str] = Counter()
    hidden: set[str] = set()
    for path in artifacts.glob("**/job_events/*.json"):
        event = json.loads(path.read_text())
        data = event.get("event_data", {})
        if event.get("event") != "runner_on_ok":
            continue
        role, res = data.get("role"), data.get("res", {})
        name = f"{role} : {data.get('task')}" if role else str(data.get("task"))
        if res.get("changed"):
            names[name] += 1
        elif "censored" in res:
            hidden.add(name)
    return names, hidden


def _failures(events: list[dict[str, Any]]) -> str:
    lines = []
    for ev in events:
        if ev.get("event") in ("runner_on_failed", "runner_on_unreachable"):
            data = ev.get("event_data", {})
            if data.get("ignore_errors"):
                continue
            res = data.get("res", {})
            msg = res.get("msg") or res.get("stderr") or ""
            lines.append(f"  {data.get('host')}: {data.get('task')}: {str(msg)[:400]}")
    return "\n".join(lines)


def run_peer(peer: Path, inventory: Path, private: Path) -> tuple[float, int, Path]:
    """k3s-ansible's site.yml through ansible-runner, with its own ansible.cfg."""
    import ansible_runner

    env = {
        "PATH": str(Path(sys.executable).parent) + os.pathsep + os.environ.get("PATH", ""),
        "HOME": os.environ["HOME"],
        "ANSIBLE_CONFIG": str(peer / "ansible.cfg"),
        "ANSIBLE_ROLES_PATH": str(peer / "roles"),
        "ANSIBLE_NOCOLOR": "1",
    }
    private.mkdir(parents=True)
    t0 = time.monotonic()
    result = ansible_runner.run(
        private_data_dir=str(private),
        playbook=str(peer / "playbooks" / "site.yml"),
        inventory=str(inventory),
        envvars=env,
        quiet=True,
    )
    wall = time.monotonic() - t0
    if result.status != "successful":
        raise RuntimeError(
            f"k3s-ansible's site.yml {result.status} (rc {result.rc}); artifacts in "
            f"{result.config.artifact_dir}\n{_failures(list(result.events))}"
        )
    changed = sum((result.stats or {}).get("changed", {}).values())
    return wall, changed, Path(result.config.artifact_dir)


def run_pik8s(inventory: Path, airgap: Path, fast: bool) -> tuple[float, int, Path]:
    extra = {
        "cluster_k3s_source": "airgap",
        "cluster_k3s_airgap_dir": str(airgap),
        "cluster_k3s_version": VERSION,
    }
    envvars = strategy_env("mitogen_linear" if fast else "linear")
    t0 = time.monotonic()
    result = runner.run_playbook(
        "site.yml", inventory=inventory, extravars=extra, envvars=envvars
    ).raise_for_status()
    return time.monotonic() - t0, result.changed_total, result.artifacts


def one(tool: str, rnd: int, args: argparse.Namespace, work: Path, airgaps: dict[str, Path]):
    """A fresh testbed, the first converge and the re-run, the testbed down again. The
    controller's state and HOME (kubeconfigs) are fresh too."""
    name, subnet = TESTBEDS[tool]
    base = work / f"r{rnd}-{tool}"
    os.environ["PI_K8S_STATE_DIR"] = str(base / "state")
    os.environ["HOME"] = str(base / "home")
    (base / "home").mkdir(parents=True)
    out: dict[str, Any] = {}
    try:
        bed = tb.up(args.nodes, name=name, subnet=subnet)
        if tool == PEER:
            peer_cmdline_flags(bed)
            inv = peer_inventory(bed, airgaps[PEER], base / "inventory.yml")
        else:
            inv = pik8s_inventory(bed, base / "inventory.yml")
        for run in ("first", "noop"):
            with RunProfile() as prof:
                if tool == PEER:
                    wall, changed, artifacts = run_peer(args.peer, inv, base / f"runner-{run}")
                else:
                    wall, changed, artifacts = run_pik8s(inv, airgaps[PIK8S], args.fast)
            prof.read_artifacts(artifacts)
            out[run] = {
                "s": round(wall, 1),
                "changed": changed,
                "tasks": prof.per_host(prof.tasks),
                "trips": prof.per_host(prof.round_trips),
                "cpu": round(prof.cpu_s, 1),
                "rss": round(prof.peak_rss / 2**20),
            }
            f = out[run]
            print(
                f"  round {rnd + 1} {tool:<12} {run:>5} {f['s']:>6}s changed {f['changed']:>3}"
                f"  tasks/host {f['tasks']:>5}  trips/host {f['trips']:>5}"
                f"  CPU {f['cpu']:>5}s  RSS {f['rss']:>4} MB",
                flush=True,
            )
            if run == "noop" and changed:
                names, hidden = changed_tasks(artifacts)
                for task, hosts in sorted(names.items()):
                    print(f"      changed on {hosts} host(s): {task}")
                if changed > sum(names.values()):
                    print(
                        f"      {changed - sum(names.values())} more in tasks with no_log: "
                        + "; ".join(sorted(hidden))
                    )
    finally:
        tb.down(name)
    return out


def median(rows: list[dict[str, Any]], run: str, key: str) -> float:
    return round(statistics.median(r[run][key] for r in rows), 1)


def report(results: dict[str, list[dict[str, Any]]], pik8s_label: str) -> None:
    """Medians over the rounds. tasks/host, trips/host and controller CPU are the no-op's."""
    print(
        f"\n{'tool':<16} {'first':>7} {'no-op':>7} {'changed on re-run':>18} "
        f"{'tasks/host':>10} {'trips/host':>10} {'ctl CPU':>8}"
    )
    med: dict[str, dict[str, float]] = {}
    for tool, label in ((PEER, PEER), (PIK8S, pik8s_label)):
        rows = results[tool]
        if not rows:
            continue
        med[tool] = m = {
            "first": median(rows, "first", "s"),
            "noop": median(rows, "noop", "s"),
            "changed": median(rows, "noop", "changed"),
            "tasks": median(rows, "noop", "tasks"),
            "trips": median(rows, "noop", "trips"),
            "cpu": median(rows, "noop", "cpu"),
        }
        print(
            f"{label:<16} {m['first']:>6.1f}s {m['noop']:>6.1f}s {m['changed']:>18g} "
            f"{m['tasks']:>10.1f} {m['trips']:>10.1f} {m['cpu']:>7.1f}s"
        )
    print(
        f"(medians of {max(len(r) for r in results.values())} rounds; "
        "tasks/host, trips/host and CPU: the no-op re-run)"
    )
    if PEER in med and PIK8S in med:
        p, q = med[PIK8S], med[PEER]
        print(
            f"{pik8s_label} / {PEER}: first {p['first'] / q['first']:.2f}x, "
            f"no-op {p['noop'] / q['noop']:.2f}x"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--peer", type=Path, required=True, help="a k3s-io/k3s-ansible tree")
    parser.add_argument("--install-sh", type=Path, required=True, help="k3s's install.sh")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--nodes", type=int, default=3, help="1 server, the rest agents")
    parser.add_argument("--fast", action="store_true", help="pi-k8s with Mitogen's strategy")
    parser.add_argument(
        "--keep", type=Path, help="work in this new directory and keep it (runs' artifacts)"
    )
    args = parser.parse_args()
    args.peer = args.peer.resolve()
    if not (args.peer / "playbooks" / "site.yml").is_file():
        parser.error(f"{args.peer} has no playbooks/site.yml (a k3s-ansible tree?)")
    if not args.install_sh.is_file():
        parser.error(f"{args.install_sh} is not a file")
    if args.nodes < 2:
        parser.error("--nodes needs at least 2 (1 server and an agent)")
    try:
        import netaddr  # noqa: F401
    except ImportError:
        parser.error("k3s-ansible needs netaddr on the controller: .venv/bin/pip install netaddr")
    if args.fast:
        strategy_env("mitogen_linear")  # ImportError now, not after the first testbed
    pik8s_label = f"{PIK8S} --fast" if args.fast else PIK8S

    if args.keep:
        args.keep.mkdir(parents=True)  # a new one: each round's paths must not exist yet
    with tempfile.TemporaryDirectory(prefix="pi-k8s-peer-") as tmp:
        work = args.keep.resolve() if args.keep else Path(tmp)
        standin_dir = standin.build_airgap(work / "airgap", VERSION)
        airgaps = {
            PIK8S: standin_dir,
            PEER: peer_airgap(standin_dir, args.install_sh, work / "peer-airgap"),
        }
        results: dict[str, list[dict[str, Any]]] = {PEER: [], PIK8S: []}
        print(
            f"{args.nodes} hosts (1 server + {args.nodes - 1} agents), k3s stand-in "
            f"{VERSION}; pi-k8s: site.yml without verify" + (" (Mitogen)" if args.fast else "")
        )
        print(f"load average at start: {os.getloadavg()[0]:.1f} ({os.cpu_count()} cores)")
        try:
            for rnd in range(args.rounds):
                order = (PEER, PIK8S) if rnd % 2 == 0 else (PIK8S, PEER)
                for tool in order:
                    results[tool].append(one(tool, rnd, args, work, airgaps))
        finally:
            report(results, pik8s_label)
            print(f"load average at end: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
