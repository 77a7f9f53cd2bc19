"""Local test hosts that stand in for Raspberry Pis: rootful podman containers.

``up()`` builds (once) a Debian image with debootstrap, imports it into podman, and
starts N systemd containers on a dedicated podman network, each with its own IP, a
Raspberry Pi MAC and the files a Pi has (see ``pi_identity``). Everything the testbed
creates carries the label ``pi-k8s.testbed=<name>`` so ``down()`` can remove it all.

Simulated Pi files, and how:
- ``/sys/firmware/devicetree/base/{model,compatible,serial-number}``: a per-host
  directory bind-mounted read-only over ``/sys/firmware`` (``/proc/device-tree`` is a
  kernel symlink that cannot be made inside procfs; on a Pi it points here).
- ``/proc/cpuinfo`` (Revision/Serial/Model trailer) and ``/proc/meminfo`` (MemTotal of
  the board): per-host files bind-mounted read-only, the way lxcfs does.
- ``/boot/firmware/cmdline.txt``, ``config.txt``, the ``/boot/*.txt`` "do not edit"
  placeholders, ``/etc/rpi-issue``, ``/etc/dphys-swapfile``: copied into the
  container's writable layer before it starts, so roles can edit them.
Non-Pi hosts (``others``) get none of these and a non-Pi MAC.
"""

from __future__ import annotations

import hashlib
import io
import ipaddress
import json
import os
import shutil
import socket
import subprocess
import tarfile
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

from pi_k8s import pi_identity
from pi_k8s.errors import TestbedError, UsageError
from pi_k8s.paths import ensure_private_dir, state_dir

LABEL = "pi-k8s.testbed"
DEFAULT_NAME = "default"
DEFAULT_SUBNET = "10.213.13.0/24"
SUITE = "bookworm"
# Packages the test hosts carry: what a Pi OS Lite install has that our roles and
# probes touch (systemd, sshd, sudo, python3 for Ansible, iptables/kmod for k3s).
PACKAGES = (
    "systemd",
    "systemd-sysv",
    "systemd-timesyncd",
    "dbus",
    "python3",
    "python3-apt",
    "sudo",
    "iproute2",
    "iptables",
    "kmod",
    "procps",
    "openssh-server",
    "ca-certificates",
    "curl",
    "zstd",
)
# Bump when the customisation below changes, so cached images are rebuilt.
_IMAGE_RECIPE_VERSION = "3"
# Bump when the way containers are created changes, so `up` recreates old ones.
_CONTAINER_RECIPE = "4"

Progress = Callable[[str], None]


@dataclass
class TestbedHost:
    name: str
    kind: str  # "pi" or "other"
    ip: str
    mac: str
    model: str | None
    memory_mb: int | None
    state: str
    container: str

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


@dataclass
class Testbed:
    name: str
    network: str
    subnet: str
    image: str
    ssh_key: Path
    known_hosts: Path
    inventory: Path
    ssh_config: Path
    hosts: list[TestbedHost]

    def to_dict(self) -> dict[str, object]:
        data = asdict(self)
        for key in ("ssh_key", "known_hosts", "inventory", "ssh_config"):
            data[key] = str(data[key])
        return data


def _noop(_: str) -> None:
    pass


# ----------------------------------------------------------------------------- helpers


def _podman(*args: str, check: bool = True, input_bytes: bytes | None = None) -> str:
    try:
        proc = subprocess.run(
            ["podman", *args], input=input_bytes, capture_output=True, check=False
        )
    except FileNotFoundError as exc:
        raise TestbedError(
            "podman is not installed.",
            hint="Install it with `apt-get install podman runc` (the Makefile's `deps` does).",
        ) from exc
    if check and proc.returncode != 0:
        err = proc.stderr.decode(errors="replace").strip()
        raise TestbedError(f"podman {args[0]} failed: {err}")
    return proc.stdout.decode(errors="replace")


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


def testbed_dir(name: str) -> Path:
    return state_dir() / "testbed" / name


def _resource(name: str) -> str:
    return f"pi-k8s-{name}"


def _validate_name(name: str) -> None:
    if not name or not all(c.isalnum() or c == "-" for c in name) or len(name) > 20:
        raise UsageError(
            f"Invalid testbed name {name!r}.",
            hint="Use up to 20 letters, digits or dashes.",
        )


# ----------------------------------------------------------------------------- image


def _mirror() -> str:
    return os.environ.get("PI_K8S_DEBIAN_MIRROR", "http://deb.debian.org/debian")


def image_tag() -> str:
    """The image name, carrying a hash of everything that goes into the build."""
    recipe = "\n".join([SUITE, _IMAGE_RECIPE_VERSION, *PACKAGES])
    return f"localhost/pi-k8s-testbed:{SUITE}-{hashlib.sha256(recipe.encode()).hexdigest()[:10]}"


_HOSTKEYS_UNIT = """\
[Unit]
Description=Generate this host's own SSH host keys (the image ships none)
Before=ssh.service
ConditionPathExists=!/etc/ssh/ssh_host_ed25519_key

[Service]
Type=oneshot
ExecStart=/usr/bin/ssh-keygen -A

[Install]
WantedBy=ssh.service
"""


def _customise_rootfs(root: Path) -> None:
    """Make the debootstrapped tree a bootable, unique-per-container host image."""
    (root / "etc/machine-id").write_text("")
    (root / "etc/hostname").unlink(missing_ok=True)
    for key in (root / "etc/ssh").glob("ssh_host_*"):
        key.unlink()
    unit = root / "etc/systemd/system/pi-k8s-hostkeys.service"
    unit.write_text(_HOSTKEYS_UNIT)
    for wants in ("ssh.service.wants", "multi-user.target.wants"):
        link = root / "etc/systemd/system" / wants / "pi-k8s-hostkeys.service"
        link.parent.mkdir(parents=True, exist_ok=True)
        link.unlink(missing_ok=True)
        link.symlink_to("/etc/systemd/system/pi-k8s-hostkeys.service")
    # Raspberry Pi OS's default user: `pi`, passwordless sudo (pi-gen's 010_pi-nopasswd).
    subprocess.run(
        ["chroot", str(root), "useradd", "-m", "-s", "/bin/bash", "-G", "sudo", "pi"],
        check=True,
        capture_output=True,
    )
    sudoers = root / "etc/sudoers.d/010_pi-nopasswd"
    sudoers.write_text("pi ALL=(ALL) NOPASSWD: ALL\n")
    sudoers.chmod(0o440)
    # No console in a container: do not wait for one.
    for unit_name in ("getty@tty1.service", "console-getty.service"):
        mask = root / "etc/systemd/system" / unit_name
        mask.unlink(missing_ok=True)
        mask.symlink_to("/dev/null")
    # Keep apt's lists out of the image; hosts update when a role needs packages.
    shutil.rmtree(root / "var/lib/apt/lists", ignore_errors=True)
    (root / "var/lib/apt/lists/partial").mkdir(parents=True, exist_ok=True)
    shutil.rmtree(root / "var/cache/apt/archives", ignore_errors=True)
    (root / "var/cache/apt/archives/partial").mkdir(parents=True, exist_ok=True)


def ensure_image(progress: Progress = _noop) -> str:
    """Build and import the test-host image unless podman already has it."""
    tag = image_tag()
    if subprocess.run(["podman", "image", "exists", tag], check=False).returncode == 0:
        progress(f"image {tag} is cached")
        return tag
    cache = ensure_private_dir(state_dir() / "images")
    with tempfile.TemporaryDirectory(dir=cache, prefix="build-") as build:
        root = Path(build) / "rootfs"
        progress(f"debootstrap {SUITE} from {_mirror()} (about a minute)")
        proc = subprocess.run(
            [
                "debootstrap",
                "--variant=minbase",
                f"--include={','.join(PACKAGES)}",
                SUITE,
                str(root),
                _mirror(),
            ],
            capture_output=True,
            check=False,
        )
        if proc.returncode != 0:
            tail = proc.stdout.decode(errors="replace").strip().splitlines()[-5:]
            raise TestbedError(
                "debootstrap failed: " + " | ".join(tail),
                hint="Check that Debian's mirror is reachable, or set PI_K8S_DEBIAN_MIRROR.",
            )
        _customise_rootfs(root)
        progress(f"importing the image as {tag}")
        tar = subprocess.Popen(["tar", "-C", str(root), "-c", "."], stdout=subprocess.PIPE)
        imp = subprocess.run(
            [
                "podman",
                "import",
                "--change",
                'CMD ["/sbin/init"]',
                "--change",
                "STOPSIGNAL SIGRTMIN+3",
                "--change",
                f"LABEL {LABEL}.image=1",
                "-",
                tag,
            ],
            stdin=tar.stdout,
            capture_output=True,
            check=False,
        )
        tar.wait()
        if imp.returncode != 0 or tar.returncode != 0:
            raise TestbedError(f"podman import failed: {imp.stderr.decode(errors='replace')}")
    return tag


# ----------------------------------------------------------------------------- hosts


@dataclass(frozen=True)
class _Plan:
    name: str
    kind: str
    ip: str
    mac: str
    profile: pi_identity.PiProfile | None


def _plan(testbed: str, subnet: str, nodes: int, others: int) -> list[_Plan]:
    net = ipaddress.ip_network(subnet)
    addresses = list(net.hosts())
    # .1 is the gateway; hosts start at .10 so the first few stay free for VIPs.
    if nodes + others + 10 > len(addresses):
        raise UsageError(
            f"Subnet {subnet} is too small for {nodes + others} hosts.",
            hint="Pass a larger --subnet (a /24 holds up to 240 hosts).",
        )
    plans = []
    for i in range(nodes):
        profile = pi_identity.PI_PROFILES[i % len(pi_identity.PI_PROFILES)]
        host = f"rpi-{i + 1}"
        plans.append(
            _Plan(
                host,
                "pi",
                str(addresses[9 + i]),
                pi_identity.mac_address(profile.oui, f"{testbed}/{host}"),
                profile,
            )
        )
    for j in range(others):
        host = f"other-{j + 1}"
        plans.append(
            _Plan(
                host,
                "other",
                str(addresses[9 + nodes + j]),
                pi_identity.mac_address(pi_identity.OTHER_OUI, f"{testbed}/{host}"),
                None,
            )
        )
    return plans


def _ensure_key(directory: Path) -> Path:
    key = directory / "id_ed25519"
    if not key.exists():
        subprocess.run(
            ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "pi-k8s-testbed", "-f", str(key)],
            check=True,
        )
    return key


def _ensure_network(testbed: str, subnet: str) -> str:
    network = _resource(testbed)
    existing = _podman("network", "ls", "--format", "{{.Name}}").split()
    if network in existing:
        info = json.loads(_podman("network", "inspect", network))[0]
        subnets = [s.get("subnet") for s in info.get("subnets", [])]
        if subnet not in subnets:
            raise TestbedError(
                f"Testbed {testbed!r} already runs on {', '.join(map(str, subnets))}, "
                f"not {subnet}.",
                hint=f"Run `pi-k8s testbed down --name {testbed}` first to change its subnet.",
            )
        return network
    _podman(
        "network",
        "create",
        "--subnet",
        subnet,
        "--label",
        f"{LABEL}={testbed}",
        network,
    )
    return network


def _host_files(directory: Path, plan: _Plan) -> list[str]:
    """Write the per-host files and return podman mount options for them."""
    host_dir = directory / "hosts" / plan.name
    if host_dir.exists():
        shutil.rmtree(host_dir)
    mounts: list[str] = []
    host_dir.mkdir(parents=True)
    if plan.profile is not None:
        seed = f"{directory.name}/{plan.name}"
        dt = host_dir / "firmware" / "devicetree" / "base"
        dt.mkdir(parents=True)
        for fname, data in pi_identity.devicetree_files(plan.profile, seed).items():
            (dt / fname).write_bytes(data)
        (host_dir / "cpuinfo").write_text(
            pi_identity.cpuinfo(Path("/proc/cpuinfo").read_text(), plan.profile, seed)
        )
        (host_dir / "meminfo").write_text(
            pi_identity.meminfo(Path("/proc/meminfo").read_text(), plan.profile.memory_mb)
        )
        mounts += [
            "-v",
            f"{host_dir / 'firmware'}:/sys/firmware:ro",
            "-v",
            f"{host_dir / 'cpuinfo'}:/proc/cpuinfo:ro",
            "-v",
            f"{host_dir / 'meminfo'}:/proc/meminfo:ro",
        ]
    return mounts


# uid/gid of the image's `pi` user (the first user useradd creates).
_PI_UID = 1000


def _layer_tar(plan: _Plan, key: Path) -> bytes:
    """A tar of the files each host gets in its writable layer (podman cp from stdin).

    Only new directories are archive entries, so existing ones (/, /home/pi, /boot)
    keep their owners and modes; ownership is right from the start (the `pi` user's
    .ssh belongs to pi).
    """
    entries: list[tuple[str, bytes | None, int, int]] = []  # path, content/None=dir, mode, uid
    if plan.profile is not None:
        entries.append(("boot/firmware", None, 0o755, 0))
        for path, content in pi_identity.boot_files().items():
            entries.append((path.lstrip("/"), content.encode(), 0o644, 0))
    pub = key.with_suffix(".pub").read_bytes()
    for home, uid in (("root", 0), ("home/pi", _PI_UID)):
        entries.append((f"{home}/.ssh", None, 0o700, uid))
        entries.append((f"{home}/.ssh/authorized_keys", pub, 0o600, uid))
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for name, content, mode, uid in entries:
            info = tarfile.TarInfo(name)
            info.mode, info.uid, info.gid = mode, uid, uid
            info.mtime = int(time.time())
            if content is None:
                info.type = tarfile.DIRTYPE
                tar.addfile(info)
            else:
                info.size = len(content)
                tar.addfile(info, io.BytesIO(content))
    return buf.getvalue()


def _container_exists(container: str) -> bool:
    return subprocess.run(["podman", "container", "exists", container], check=False).returncode == 0


def _create_host(
    testbed: str, directory: Path, network: str, image: str, plan: _Plan, key: Path
) -> str:
    container = f"{_resource(testbed)}-{plan.name}"
    mounts = _host_files(directory, plan)
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
    _podman(
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
    _podman("cp", "--archive=false", "-", f"{container}:/", input_bytes=_layer_tar(plan, key))
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


def wait_ssh(ip: str, timeout: float) -> None:
    """Wait until an SSH server greets on ``ip``:22 (raises TestbedError after ``timeout``)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((ip, 22), timeout=1) as sock:
                if sock.recv(4).startswith(b"SSH-"):
                    return
        except OSError:
            time.sleep(0.3)
    raise TestbedError(f"SSH on {ip} did not answer within {timeout:.0f}s.")


def _host_key(container: str) -> str:
    return _podman("exec", container, "cat", "/etc/ssh/ssh_host_ed25519_key.pub").strip()


def _list_containers(testbed: str) -> list[dict[str, object]]:
    out = _podman("ps", "-a", "--filter", f"label={LABEL}={testbed}", "--format", "json")
    return json.loads(out or "[]")


def _write_access_files(
    directory: Path,
    hosts: list[TestbedHost],
    key: Path,
    host_keys: dict[str, str] | None = None,
) -> None:
    """known_hosts (keys read from inside each host), an ssh_config and an inventory.

    ``host_keys`` (host name → public key line) is for hosts whose keys the caller
    already knows (test VMs get theirs injected); containers are asked over podman.
    """
    lines = []
    for host in hosts:
        pub = host_keys[host.name] if host_keys else _host_key(host.container)
        lines.append(f"{host.ip} {pub}")
        lines.append(f"{host.name} {pub}")
    known = directory / "known_hosts"
    known.write_text("\n".join(lines) + "\n")
    config = [
        f"Host {h.name}\n  HostName {h.ip}\n  User pi\n  IdentityFile {key}\n"
        f"  UserKnownHostsFile {known}\n  StrictHostKeyChecking yes\n  IdentitiesOnly yes\n"
        for h in hosts
    ]
    (directory / "ssh_config").write_text("\n".join(config))
    inventory = {
        "all": {
            "hosts": {h.name: {"ansible_host": h.ip, "testbed_kind": h.kind} for h in hosts},
            "vars": {
                "ansible_user": "pi",
                "ansible_become": True,
                "ansible_python_interpreter": "/usr/bin/python3",
                "ansible_ssh_private_key_file": str(key),
                "ansible_ssh_common_args": (
                    f"-o UserKnownHostsFile={known} -o StrictHostKeyChecking=yes "
                    "-o IdentitiesOnly=yes"
                ),
            },
        }
    }
    (directory / "hosts.json").write_text(json.dumps(inventory, indent=2) + "\n")


# ----------------------------------------------------------------------------- public API


def up(
    nodes: int = 3,
    others: int = 0,
    *,
    name: str = DEFAULT_NAME,
    subnet: str = DEFAULT_SUBNET,
    progress: Progress = _noop,
    boot_timeout: float = 90.0,
) -> Testbed:
    """Bring the testbed to exactly ``nodes`` Pi hosts and ``others`` non-Pi hosts."""
    _validate_name(name)
    if nodes < 0 or others < 0 or nodes + others == 0:
        raise UsageError("A testbed needs at least one host.", hint="Pass --nodes 1 or more.")
    try:
        net = ipaddress.ip_network(subnet)
    except ValueError as exc:
        raise UsageError(
            f"Invalid subnet {subnet!r}: {exc}.", hint="Use CIDR form, e.g. 10.213.13.0/24."
        ) from exc
    if not net.is_private or net.version != 4:
        raise UsageError(
            f"Subnet {subnet} is not a private IPv4 range.",
            hint="The testbed only uses private ranges, e.g. 10.213.13.0/24.",
        )
    plans = _plan(name, str(net), nodes, others)
    check_environment()
    directory = ensure_private_dir(testbed_dir(name))
    key = _ensure_key(directory)
    image = ensure_image(progress)
    network = _ensure_network(name, str(net))

    wanted = {f"{_resource(name)}-{p.name}": p for p in plans}
    for existing in _list_containers(name):
        cname = existing["Names"][0]  # type: ignore[index]
        labels = existing.get("Labels") or {}
        stale = labels.get(f"{LABEL}.recipe") != _CONTAINER_RECIPE
        if cname not in wanted or existing.get("Image") != image or stale:
            progress(f"removing {cname}")
            _podman("rm", "-f", "-t", "2", cname)
    for container, plan in wanted.items():
        if _container_exists(container):
            state = json.loads(_podman("inspect", container))[0]["State"]
            if state.get("Running"):
                continue
            progress(f"starting {plan.name}")
            _podman("start", container)
            continue
        progress(f"creating {plan.name} ({plan.ip}, {plan.mac})")
        _create_host(name, directory, network, image, plan, key)
        _podman("start", container)
        _wait_running(container, boot_timeout)
    for container, plan in wanted.items():
        _wait_running(container, boot_timeout)
        wait_ssh(plan.ip, boot_timeout)
    bed = status(name)
    _write_access_files(directory, bed.hosts, key)
    progress(f"{len(bed.hosts)} hosts up on {subnet}")
    return bed


def status(name: str = DEFAULT_NAME) -> Testbed:
    """The testbed's hosts as podman reports them (empty list when it is down)."""
    _validate_name(name)
    directory = testbed_dir(name)
    hosts: list[TestbedHost] = []
    network = _resource(name)
    subnet = ""
    if shutil.which("podman"):
        for entry in _list_containers(name):
            cname = entry["Names"][0]  # type: ignore[index]
            info = json.loads(_podman("inspect", cname))[0]
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
        nets_out = _podman("network", "ls", "--format", "json", check=False)
        for net in json.loads(nets_out or "[]"):
            if net.get("name") == network:
                subnet = net["subnets"][0]["subnet"]
    hosts.sort(key=lambda h: (h.kind != "pi", len(h.name), h.name))
    return Testbed(
        name=name,
        network=network,
        subnet=subnet,
        image=image_tag(),
        ssh_key=directory / "id_ed25519",
        known_hosts=directory / "known_hosts",
        inventory=directory / "hosts.json",
        ssh_config=directory / "ssh_config",
        hosts=hosts,
    )


def down(name: str = DEFAULT_NAME, *, progress: Progress = _noop) -> int:
    """Remove every container, network and volume of the testbed. Returns how many."""
    _validate_name(name)
    if not shutil.which("podman"):
        return 0
    removed = 0
    for entry in _list_containers(name):
        cname = entry["Names"][0]  # type: ignore[index]
        progress(f"removing {cname}")
        _podman("rm", "-f", "-v", "-t", "2", cname, check=False)
        removed += 1
    vols = _podman("volume", "ls", "-q", "--filter", f"label={LABEL}={name}", check=False).split()
    for vol in vols:
        _podman("volume", "rm", "-f", vol, check=False)
        removed += 1
    nets = _podman("network", "ls", "-q", "--filter", f"label={LABEL}={name}", check=False).split()
    for net in nets:
        progress(f"removing network {net}")
        _podman("network", "rm", "-f", net, check=False)
        removed += 1
    directory = testbed_dir(name)
    if directory.exists():
        shutil.rmtree(directory / "hosts", ignore_errors=True)
        for fname in ("known_hosts", "ssh_config", "hosts.json"):
            (directory / fname).unlink(missing_ok=True)
    return removed
