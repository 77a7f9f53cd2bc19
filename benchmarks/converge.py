"""Time `site.yml` on testbed hosts: the first converge and two no-op re-runs.

Usage: .venv/bin/python benchmarks/converge.py [--nodes 3 5 10 50] [--slowest 15]

For each size it brings up its own testbed (10.213.22.0/24), runs site.yml with the
k3s stand-in (tests/standin/, installed through the airgap path), runs it twice more, and
takes the testbed down. The first re-run ("noop") is the one right after an install: k3s's
binary was just written, so no host has its digest cached yet and each agent is read twice
(roles/k3s_install/tasks/gate.yml). The second ("noop2") is every later re-run, as a cron
job makes them: each agent is read once. Per run it prints the wall-clock time, the
changed count, tasks and round trips per host, the controller's CPU time and peak memory,
and each testbed host's memory after the first run (benchmarks/runprofile.py says how each
is counted); with --slowest N, the N slowest tasks of the first no-op re-run. It asserts
nothing: figures, not tests.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests" / "standin"))

import build as standin  # noqa: E402

from benchmarks.runprofile import RunProfile  # noqa: E402
from pi_k8s import runner  # noqa: E402
from pi_k8s import testbed as tb  # noqa: E402
from tests.testbed_inventory import cluster_inventory  # noqa: E402

VERSION = "v1.31.4+k3s1"
SUBNET = "10.213.22.0/24"
RUNS = ("first", "noop", "noop2")


def inventory(bed: tb.Testbed, path: Path) -> Path:
    names = [h.name for h in bed.hosts]
    path.write_text(yaml.safe_dump(cluster_inventory(bed, names[:1], names[1:])))
    return path


def strategy_env(strategy: str) -> dict[str, str] | None:
    """Ansible's own linear strategy, or Mitogen's (PyPI ``mitogen``, installed apart)."""
    if strategy == "linear":
        return None
    import ansible_mitogen  # only with --strategy mitogen_linear

    plugins = Path(ansible_mitogen.__file__).parent / "plugins" / "strategy"
    return {"ANSIBLE_STRATEGY_PLUGINS": str(plugins), "ANSIBLE_STRATEGY": strategy}


def host_memory_mb(bed: tb.Testbed) -> float:
    """Mean memory per testbed host (its container's cgroup, as ``podman stats`` reads it)."""
    out = subprocess.run(
        ["podman", "stats", "--no-stream", "--format", "json", *(h.container for h in bed.hosts)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    rows = json.loads(out)
    used = [_bytes(str(r.get("mem_usage", r.get("MemUsage", "0")))) for r in rows]
    return sum(used) / len(used) / 2**20


def _bytes(usage: str) -> int:
    """``12.3MB / 24GB`` → bytes of the first figure (podman's human units, powers of 1000)."""
    figure = usage.split("/")[0].strip()
    units = {"kB": 1e3, "MB": 1e6, "GB": 1e9, "B": 1.0}
    for unit, factor in units.items():
        if figure.endswith(unit):
            return int(float(figure[: -len(unit)]) * factor)
    return int(float(figure))


def one(nodes: int, work: Path, airgap: Path, slowest: int, strategy: str) -> dict[str, Any]:
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
        out: dict[str, Any] = {"nodes": nodes, "testbed_up_s": round(up, 1)}
        for run in RUNS:
            with RunProfile() as prof:
                t0 = time.monotonic()
                result = runner.run_playbook(
                    "site.yml", inventory=inv, extravars=extra, envvars=strategy_env(strategy)
                ).raise_for_status()
                wall = time.monotonic() - t0
            prof.read_artifacts(result.artifacts)
            if run == "first":
                out["host_memory_mb"] = round(host_memory_mb(bed))
            out[run] = {
                "s": round(wall, 1),
                "changed": result.changed_total,
                "tasks_per_host": prof.per_host(prof.tasks),
                "round_trips_per_host": prof.per_host(prof.round_trips),
                "cpu_s": round(prof.cpu_s, 1),
                "peak_rss_mb": round(prof.peak_rss / 2**20),
                "slowest": prof.slowest(slowest),
            }
        return out
    finally:
        tb.down(name)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, nargs="+", default=[3, 10])
    parser.add_argument("--slowest", type=int, default=0, help="list the no-op's N slowest tasks")
    parser.add_argument(
        "--strategy",
        nargs="+",
        default=["linear"],
        help="linear and/or mitogen_linear (pip install mitogen first); interleaved per size",
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="pi-k8s-bench-") as tmp:
        work = Path(tmp)
        os.environ.setdefault("PI_K8S_STATE_DIR", str(work / "state"))
        os.environ["HOME"] = str(work / "home")  # the kubeconfig lands in ~/.kube
        airgap = standin.build_airgap(work / "airgap", VERSION)
        print(f"load average at start: {os.getloadavg()[0]:.1f} ({os.cpu_count()} cores)")
        print(
            f"{'nodes':>5} {'run':>6} {'wall':>7} {'changed':>7} {'tasks/host':>10} "
            f"{'trips/host':>10} {'ctl CPU':>8} {'ctl RSS':>8}"
        )
        for n in args.nodes:
            for strategy in args.strategy:
                report(n, strategy, one(n, work, airgap, args.slowest, strategy))
        print(f"load average at end: {os.getloadavg()[0]:.1f}")


def report(n: int, strategy: str, r: dict[str, Any]) -> None:
    if strategy != "linear":
        print(f"  strategy {strategy}:")
    for run in RUNS:
        f = r[run]
        print(
            f"{n:>5} {run:>6} {f['s']:>6}s {f['changed']:>7} {f['tasks_per_host']:>10} "
            f"{f['round_trips_per_host']:>10} {f['cpu_s']:>7}s {f['peak_rss_mb']:>5} MB",
            flush=True,
        )
    mem = r["host_memory_mb"]
    print(f"      testbed up {r['testbed_up_s']}s, {mem} MB per host after the first run")
    for name, sec in r["noop"]["slowest"]:
        print(f"      {sec:6.2f}s  {name}")


if __name__ == "__main__":
    main()
