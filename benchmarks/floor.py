"""Ansible's own floor for issue 18's scale goal: how a play of trivial tasks grows from 5 to
50 hosts on this machine, with nothing of pi-k8s in it.

Usage: .venv/bin/python benchmarks/floor.py [--hosts 5 50] [--tasks 5 10 20 35]
       [--shape per-host loop inventory]

Each run is one play of N ``ansible.builtin.assert`` tasks (controller-side, no module
sent anywhere) on fake hosts with ``ansible_connection: local``, through ansible-runner
with this repository's ansible.cfg (forks 20): no testbed, no network. It prints the wall
time and the controller's CPU per size and the ratio between the largest and the
smallest size. The ratio is the best any playbook with that many tasks per host can do
here: Ansible starts a worker process per task and host and runs its callbacks for each,
so time grows with hosts times tasks once those outweigh the start-up.

``--shape`` runs the same checks of each host's own variable other ways: ``loop`` runs
each check once, looping over the play's hosts (one item per host, no worker process per
host), and ``inventory`` runs each check once for every host in one expression (the shape
of a first play whose input checks run once for the inventory). Figures, not tests.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

import ansible_runner
import yaml

REPO = Path(__file__).resolve().parent.parent


# The same two checks of every host's own variable, three ways (--shape):
# - per-host: one task per check, run on each host (a worker process and callbacks per host);
# - loop: one task per check, run once, looping over the play's hosts (one item each);
# - inventory: one task per check, run once, checking every host in one expression.
CHECKS = {
    "per-host": ["n is number", "n >= 0"],
    "loop": ["hostvars[item].n is number", "hostvars[item].n >= 0"],
    "inventory": [
        "ansible_play_hosts | map('extract', hostvars, 'n') | reject('number') | list == []",
        "ansible_play_hosts | map('extract', hostvars, 'n') | select('lt', 0) | list == []",
    ],
}


def play(tasks: int, shape: str = "per-host") -> list[dict[str, object]]:
    task: dict[str, object] = {"ansible.builtin.assert": {"that": CHECKS[shape], "quiet": True}}
    if shape != "per-host":
        task["run_once"] = True
    if shape == "loop":
        task["loop"] = "{{ ansible_play_hosts }}"
    return [
        {
            "name": "Trivial checks",
            "hosts": "all",
            "gather_facts": False,
            "tasks": [{"name": f"Check {n}", **task} for n in range(tasks)],
        }
    ]


def inventory(hosts: int, python: str) -> dict[str, object]:
    return {
        "all": {
            "hosts": {
                f"h{n:03d}": {
                    "ansible_connection": "local",
                    "ansible_python_interpreter": python,
                    "n": n,
                }
                for n in range(hosts)
            }
        }
    }


def one(work: Path, hosts: int, tasks: int, shape: str = "per-host") -> tuple[float, float]:
    """Wall time and controller CPU (s) of one run."""
    run_dir = work / f"h{hosts}-t{tasks}-{shape}"
    (run_dir / "project").mkdir(parents=True)
    (run_dir / "project" / "floor.yml").write_text(yaml.safe_dump(play(tasks, shape)))
    (run_dir / "inventory.yml").write_text(yaml.safe_dump(inventory(hosts, sys.executable)))
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.monotonic()
    result = ansible_runner.run(
        private_data_dir=str(run_dir),
        playbook="floor.yml",
        inventory=str(run_dir / "inventory.yml"),
        envvars={
            "ANSIBLE_CONFIG": str(REPO / "ansible.cfg"),
            # ansible-playbook from this interpreter's venv, also when it is not on PATH
            "PATH": str(Path(sys.executable).parent) + os.pathsep + os.environ.get("PATH", ""),
        },
        quiet=True,
    )
    wall = time.monotonic() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if result.rc != 0:
        raise SystemExit(f"the floor play failed on {hosts} hosts (rc {result.rc}): {run_dir}")
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    return wall, cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hosts", type=int, nargs="+", default=[5, 50])
    parser.add_argument("--tasks", type=int, nargs="+", default=[5, 10, 20, 35])
    parser.add_argument(
        "--shape",
        nargs="+",
        choices=list(CHECKS),
        default=["per-host"],
        help="how each check runs: on each host, once looping over the hosts, or once for all",
    )
    args = parser.parse_args()
    sizes = sorted(args.hosts)
    print(f"load average at start: {os.getloadavg()[0]:.1f} ({os.cpu_count()} cores)")
    head = "".join(f"{f'{h} hosts: wall/CPU':>22}" for h in sizes)
    print(f"{'shape':>10}{'tasks':>6}{head}{f'{sizes[-1]}/{sizes[0]}':>10}")
    with tempfile.TemporaryDirectory(prefix="pi-k8s-floor-") as tmp:
        for shape in args.shape:
            for tasks in args.tasks:
                walls = []
                cells = ""
                for hosts in sizes:
                    wall, cpu = one(Path(tmp), hosts, tasks, shape)
                    walls.append(wall)
                    cells += f"{wall:.1f}s/{cpu:.1f}s".rjust(22)
                ratio = walls[-1] / walls[0]
                print(f"{shape:>10}{tasks:>6}{cells}{ratio:>9.1f}x", flush=True)
    print(f"load average at end: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
