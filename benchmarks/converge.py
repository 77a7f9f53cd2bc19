"""Time `site.yml` on testbed hosts: the first converge and a no-op re-run.

Usage: .venv/bin/python benchmarks/converge.py [--nodes 3 10]

For each size it brings up its own testbed (10.213.22.0/24), runs site.yml with the
k3s stand-in (tests/standin/, installed through the airgap path), runs it again,
prints both wall-clock times and the changed count of the re-run, and takes the
testbed down. It asserts nothing: figures, not tests.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests" / "standin"))

import build as standin  # noqa: E402

from pi_k8s import runner  # noqa: E402
from pi_k8s import testbed as tb  # noqa: E402
from tests.testbed_inventory import cluster_inventory  # noqa: E402

VERSION = "v1.31.4+k3s1"
SUBNET = "10.213.22.0/24"


def inventory(bed: tb.Testbed, path: Path) -> Path:
    names = [h.name for h in bed.hosts]
    path.write_text(yaml.safe_dump(cluster_inventory(bed, names[:1], names[1:])))
    return path


def one(nodes: int, work: Path, airgap: Path) -> dict[str, float | int]:
    name = f"bench{nodes}"
    try:
        t0 = time.monotonic()
        bed = tb.up(nodes, name=name, subnet=SUBNET)
        up = time.monotonic() - t0
        inv = inventory(bed, work / f"{name}.yml")
        extra = {
            "cluster_k3s_source": "airgap",
            "cluster_k3s_airgap_dir": str(airgap),
            "cluster_k3s_version": VERSION,
        }
        t0 = time.monotonic()
        first = runner.run_playbook("site.yml", inventory=inv, extravars=extra).raise_for_status()
        first_s = time.monotonic() - t0
        t0 = time.monotonic()
        again = runner.run_playbook("site.yml", inventory=inv, extravars=extra).raise_for_status()
        again_s = time.monotonic() - t0
        return {
            "nodes": nodes,
            "testbed_up_s": round(up, 1),
            "first_run_s": round(first_s, 1),
            "first_run_changed": first.changed_total,
            "rerun_s": round(again_s, 1),
            "rerun_changed": again.changed_total,
        }
    finally:
        tb.down(name)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, nargs="+", default=[3, 10])
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="pi-k8s-bench-") as tmp:
        work = Path(tmp)
        os.environ.setdefault("PI_K8S_STATE_DIR", str(work / "state"))
        os.environ["HOME"] = str(work / "home")  # the kubeconfig lands in ~/.kube
        airgap = standin.build_airgap(work / "airgap", VERSION)
        print(
            f"{'nodes':>5} {'testbed up':>11} {'first run':>10} {'changed':>8} "
            f"{'re-run':>8} {'changed':>8}"
        )
        for n in args.nodes:
            r = one(n, work, airgap)
            print(
                f"{r['nodes']:>5} {r['testbed_up_s']:>10}s {r['first_run_s']:>9}s "
                f"{r['first_run_changed']:>8} {r['rerun_s']:>7}s {r['rerun_changed']:>8}",
                flush=True,
            )


if __name__ == "__main__":
    main()
