"""Time `pi-k8s status` and `pi-k8s verify` on a bootstrapped 1 server + 2 agent testbed.

Usage: .venv/bin/python benchmarks/status_verify.py [--rounds 5]

It brings up its own testbed (bench-sv, 10.213.24.0/24), bootstraps it with the k3s
stand-in (tests/standin/, through the airgap path) without verify, then runs the status
and verify operations (pi_k8s.operations, as the CLI does; verify without the workload
checks, which the stand-in cannot serve) ``--rounds`` times each, prints every time, the
median and the machine's load average, and takes the testbed down. It asserts nothing:
figures, not tests.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests" / "standin"))

import build as standin  # noqa: E402

from pi_k8s import operations as ops  # noqa: E402
from pi_k8s import testbed as tb  # noqa: E402
from tests.testbed_inventory import cluster_inventory  # noqa: E402

VERSION = "v1.31.4+k3s1"
NAME = "bench-sv"
SUBNET = "10.213.24.0/24"


def timed(job: Callable[[], object], rounds: int) -> list[float]:
    times = []
    for _ in range(rounds):
        t0 = time.monotonic()
        job()
        times.append(round(time.monotonic() - t0, 2))
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="pi-k8s-bench-") as tmp:
        work = Path(tmp)
        os.environ.setdefault("PI_K8S_STATE_DIR", str(work / "state"))
        os.environ["HOME"] = str(work / "home")  # the kubeconfig lands in ~/.kube
        airgap = standin.build_airgap(work / "airgap", VERSION)
        try:
            bed = tb.up(3, name=NAME, subnet=SUBNET)
            inv = work / "hosts.yml"
            inv.write_text(yaml.safe_dump(cluster_inventory(bed, ["rpi-1"], ["rpi-2", "rpi-3"])))
            options = ops.BootstrapOptions(airgap=airgap, k3s_version=VERSION, verify=False)
            ops.run_bootstrap(inventory=inv, options=options)
            rows = {
                "status": timed(lambda: ops.cluster_status(inventory=inv), args.rounds),
                "verify": timed(lambda: ops.run_verify(inv, workloads=False), args.rounds),
            }
        finally:
            tb.down(NAME)
    print(f"3 nodes (1 server + 2 agents), load average {os.getloadavg()[0]:.2f}")
    for job, times in rows.items():
        print(f"{job:>7}: median {statistics.median(times):.2f} s  ({', '.join(map(str, times))})")


if __name__ == "__main__":
    main()
