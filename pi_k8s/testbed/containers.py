"""Local test hosts that stand in for Raspberry Pis: rootful podman containers.

``up()`` builds (once) a Debian image with debootstrap, imports it into podman, and
starts N systemd containers on a dedicated podman network, each with its own IP, a
Raspberry Pi MAC and the files a Pi has (see ``pifiles``). Everything the testbed
creates carries the label ``pi-k8s.testbed=<name>`` so ``down()`` can remove it all.

"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from pathlib import Path

from pi_k8s.errors import TestbedError, UsageError
from pi_k8s.paths import ensure_private_dir
from pi_k8s.testbed.access import ensure_key, wait_ssh, write_access_files
from pi_k8s.testbed.hosts import (
    DEFAULT_NAME,
    Plan,
    Progress,
    Testbed,
    TestbedHost,
    noop,
    parse_subnet,
    plan_hosts,
    testbed_dir,
    testbed_record,
    validate_name,
)
from pi_k8s.testbed.image import ensure_image, image_tag
from pi_k8s.testbed.limits import ensure_inotify_instances
from pi_k8s.testbed.pifiles import host_files, layer_tar
from pi_k8s.testbed.podman import LABEL, container_exists, list_containers, podman

DEFAULT_SUBNET = "10.213.13.0/24"
# Bump when the way containers are created changes, so `up` recreates old ones.
_CONTAINER_RECIPE = "4"


def check_environment() -> None:
    """Fail early, before anything is created, if the machine cannot run a testbed."""
    if os.geteuid() != 0:
        raise TestbedError(
            "The testbed needs root: it runs rootful podman and debootstrap.",
            hint="Run it as root (e.g. `sudo make demo`).",
        )
    missing = [tool for tool in ("podman", "debootstrap", "ssh-keygen") if not shutil.which(tool)]
    if missing:
        raise TestbedError(
            f"Missing tools for the testbed: {', '.join(missing)}.",
            hint="Install them with `make deps` (apt-get install podman runc debootstrap "
            "openssh-client).",
        )


def _resource(name: str) -> str:
    return f"pi-k8s-{name}"


def _ensure_network(testbed: str, subnet: str) -> str:
    network = _resource(testbed)
    existing = podman("network", "ls", "--format", "{{.Name}}").split()
    if network in existing:
        info = json.loads(podman("network", "inspect", network))[0]
        subnets = [s.get("subnet") for s in info.get("subnets", [])]
        if subnet not in subnets:
            raise TestbedError(
                f"Testbed {testbed!r} already runs on {', '.join(map(str, subnets))}, "
                f"not {subnet}.",
                hint=f"Run `pi-k8s testbed down --name {testbed}` first to change its subnet.",
            )
        return network
    podman(
        "network",
        "create",
        "--subnet",
        subnet,
        "--label",
        f"{LABEL}={testbed}",
        network,
    )
    return network


def _create_host(
    testbed: str, directory: Path, network: str, image: str, plan: Plan, key: Path
) -> str:
    container = f"{_resource(testbed)}-{plan.name}"
    mounts = host_files(directory, plan)
    labels = [
        "--label",
        f"{LABEL}={testbed}",
        "--label",
        f"{LABEL}.host={plan.name}",
        "--label",
        f"{LABEL}.kind={plan.kind}",
        "--label",
        f"{LABEL}.recipe={_CONTAINER_RECIPE}",
    ]
    if plan.profile is not None:
        labels += [
            "--label",
            f"{LABEL}.model={plan.profile.model}",
            "--label",
            f"{LABEL}.memory_mb={plan.profile.memory_mb}",
        ]
    podman(
        "create",
        "--name",
        container,
        "--hostname",
        plan.name,
        "--network",
        network,
        "--ip",
        plan.ip,
        "--mac-address",
        plan.mac,
        # Privileged systemd containers, as k3s-io/k3s-ansible's CI runs k3s in.
        "--privileged",
        # Not --cgroupns=private: on a hybrid cgroup host, systemd inside a privileged
        # container with its own cgroup namespace moves itself to the host's
        # name=systemd:/init.scope, and `podman exec` then fails for that container.
        "--systemd",
        "always",
        *labels,
        *mounts,
        image,
    )
    # --archive=false: keep the tar's owners (podman would chown all to root).
    podman("cp", "--archive=false", "-", f"{container}:/", input_bytes=layer_tar(plan, key))
    return container


def _wait_running(container: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    state = ""
    while time.monotonic() < deadline:
        proc = subprocess.run(
            ["podman", "exec", container, "systemctl", "is-system-running"],
            capture_output=True,
            check=False,
        )
        state = proc.stdout.decode().strip()
        if state in {"running", "degraded"}:
            return
        time.sleep(0.3)
    raise TestbedError(f"{container}: systemd did not finish booting (state {state!r}).")


# ----------------------------------------------------------------------------- public API


def up(
    nodes: int = 3,
    others: int = 0,
    *,
    name: str = DEFAULT_NAME,
    subnet: str = DEFAULT_SUBNET,
    progress: Progress = noop,
    boot_timeout: float = 90.0,
) -> Testbed:
    """Bring the testbed to exactly ``nodes`` Pi hosts and ``others`` non-Pi hosts."""
    validate_name(name)
    if nodes < 0 or others < 0 or nodes + others == 0:
        raise UsageError("A testbed needs at least one host.", hint="Pass --nodes 1 or more.")
    net = parse_subnet(subnet, DEFAULT_SUBNET)
    plans = plan_hosts(name, str(net), nodes, others)
    check_environment()
    directory = ensure_private_dir(testbed_dir(name))
    key = ensure_key(directory)
    image = ensure_image(progress)
    network = _ensure_network(name, str(net))

    wanted = {f"{_resource(name)}-{p.name}": p for p in plans}
    # Every running container on this machine (other testbeds too) holds inotify instances.
    others_running = podman("ps", "-q", "--filter", f"label={LABEL}").split()
    ensure_inotify_instances(len(others_running) + len(wanted), progress=progress)
    for existing in list_containers(name):
        cname = existing["Names"][0]  # type: ignore[index]
        labels = existing.get("Labels") or {}
        stale = labels.get(f"{LABEL}.recipe") != _CONTAINER_RECIPE
        if cname not in wanted or existing.get("Image") != image or stale:
            progress(f"removing {cname}")
            podman("rm", "-f", "-t", "2", cname)
    for container, plan in wanted.items():
        if container_exists(container):
            state = json.loads(podman("inspect", container))[0]["State"]
            if state.get("Running"):
                continue
            progress(f"starting {plan.name}")
            podman("start", container)
            continue
        progress(f"creating {plan.name} ({plan.ip}, {plan.mac})")
        _create_host(name, directory, network, image, plan, key)
        podman("start", container)
        _wait_running(container, boot_timeout)
    for container, plan in wanted.items():
        _wait_running(container, boot_timeout)
        wait_ssh(plan.ip, boot_timeout)
    bed = status(name)
    write_access_files(directory, bed.hosts, key)
    progress(f"{len(bed.hosts)} hosts up on {subnet}")
    return bed


def status(name: str = DEFAULT_NAME) -> Testbed:
    """The testbed's hosts as podman reports them (empty list when it is down)."""
    validate_name(name)
    hosts: list[TestbedHost] = []
    network = _resource(name)
    subnet = ""
    if shutil.which("podman"):
        for entry in list_containers(name):
            cname = entry["Names"][0]  # type: ignore[index]
            info = json.loads(podman("inspect", cname))[0]
            labels = info["Config"]["Labels"] or {}
            nets = info["NetworkSettings"]["Networks"] or {}
            netinfo = nets.get(network, {})
            mem = labels.get(f"{LABEL}.memory_mb")
            hosts.append(
                TestbedHost(
                    name=labels.get(f"{LABEL}.host", cname),
                    kind=labels.get(f"{LABEL}.kind", "other"),
                    ip=netinfo.get("IPAddress", ""),
                    mac=netinfo.get("MacAddress", ""),
                    model=labels.get(f"{LABEL}.model"),
                    memory_mb=int(mem) if mem else None,
                    state=info["State"]["Status"],
                    container=cname,
                )
            )
        nets_out = podman("network", "ls", "--format", "json", check=False)
        for net in json.loads(nets_out or "[]"):
            if net.get("name") == network:
                subnet = net["subnets"][0]["subnet"]
    hosts.sort(key=lambda h: (h.kind != "pi", len(h.name), h.name))
    return testbed_record(name, network, subnet, image_tag(), hosts)


def down(name: str = DEFAULT_NAME, *, progress: Progress = noop) -> int:
    """Remove every container, network and volume of the testbed. Returns how many."""
    validate_name(name)
    if not shutil.which("podman"):
        return 0
    removed = 0
    for entry in list_containers(name):
        cname = entry["Names"][0]  # type: ignore[index]
        progress(f"removing {cname}")
        podman("rm", "-f", "-v", "-t", "2", cname, check=False)
        removed += 1
    vols = podman("volume", "ls", "-q", "--filter", f"label={LABEL}={name}", check=False).split()
    for vol in vols:
        podman("volume", "rm", "-f", vol, check=False)
        removed += 1
    nets = podman("network", "ls", "-q", "--filter", f"label={LABEL}={name}", check=False).split()
    for net in nets:
        progress(f"removing network {net}")
        podman("network", "rm", "-f", net, check=False)
        removed += 1
    directory = testbed_dir(name)
    if directory.exists():
        shutil.rmtree(directory / "hosts", ignore_errors=True)
        for fname in ("known_hosts", "ssh_config", "hosts.json"):
            (directory / fname).unlink(missing_ok=True)
    return removed
