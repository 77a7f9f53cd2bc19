"""Ansible's own floor for issue 18's scale goal: how a play of trivial tasks grows from 5 to
50 hosts on this machine, with nothing of pi-k8s in it.

Usage: .venv/bin/python benchmarks/floor.py [--hosts 5 50] [--tasks 5 10 20 35]

Each run is one play of N ``ansible.builtin.assert`` tasks (controller-side, no module
sent anywhere) on fake hosts with ``ansible_connection: local``, through ansible-runner
with this repository's ansible.cfg (forks 20): no testbed, no network. It prints the wall
time and the controller's CPU per size and the ratio between the largest and the
smallest size. The ratio is the best any playbook with that many tasks per host can do
here: Ansible starts a worker process per task and host and runs its callbacks for each,
so time grows with hosts times tasks once those outweigh the start-up. Figures, not tests.
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


def play(tasks: int) -> list[dict[str, object]]:
    return [
        {
            "name": "Trivial checks",
            "hosts": "all",
            "gather_facts": False,
            "tasks": [
                {
                    "name": f"Check {n}",
                    "ansible.builtin.assert": {
                        "that": ["inventory_hostname is string", "groups['all'] | length > 0"],
                        "quiet": True,
                    },
                }
                for n in range(tasks)
            ],
        }
    ]


def inventory(hosts: int, python: str) -> dict[str, object]:
    return {
        "all": {
            "hosts": {
                f"h{n:03d}": {"ansible_connection": "local", "ansible_python_interpreter": python}
                for n in range(hosts)
            }
        }
    }


def one(work: Path, hosts: int, tasks: int) -> tuple[float, float]:
    """Wall time and controller CPU (s) of one run."""
    run_dir = work / f"h{hosts}-t{tasks}"
    (run_dir / "project").mkdir(parents=True)
    (run_dir / "project" / "floor.yml").write_text(yaml.safe_dump(play(tasks)))
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
    args = parser.parse_args()
    sizes = sorted(args.hosts)
    print(f"load average at start: {os.getloadavg()[0]:.1f} ({os.cpu_count()} cores)")
    head = "".join(f"{f'{h} hosts: wall/CPU':>22}" for h in sizes)
    print(f"{'tasks/host':>10}{head}{f'{sizes[-1]}/{sizes[0]}':>10}")
    with tempfile.TemporaryDirectory(prefix="pi-k8s-floor-") as tmp:
        for tasks in args.tasks:
            walls = []
            cells = ""
            for hosts in sizes:
                wall, cpu = one(Path(tmp), hosts, tasks)
                walls.append(wall)
                cells += f"{wall:.1f}s/{cpu:.1f}s".rjust(22)
            print(f"{tasks:>10}{cells}{walls[-1] / walls[0]:>9.1f}x", flush=True)
    print(f"load average at end: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
