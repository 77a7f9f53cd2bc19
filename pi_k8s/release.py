"""Which k3s `pi-k8s bootstrap` installs and where from: its flags, checked before Ansible.

`--k3s-version` and `--k3s-channel` take the forms the k3s release process uses,
`--mirror` is an http(s) URL, and `--airgap DIR` must hold, for every architecture in the
inventory, the binary and its line in the checksum file, laid out like a k3s release
(what roles/k3s_install reads):

    arch    binary      checksum file          uname -m (the role's k3s_install_arch_map)
    amd64   k3s         sha256sum-amd64.txt    x86_64, amd64
    arm64   k3s-arm64   sha256sum-arm64.txt    aarch64, arm64
    arm     k3s-armhf   sha256sum-arm.txt      armv7l, armv8l, armhf

A host's architecture is its ``pi_k8s_arch`` host variable (what discovery saw and
`pi-k8s inventory` writes). A host without one could be any of them, so then every
architecture is required. ``cluster_api_vip`` is checked by pi_k8s.vip and
``cluster_lb_pool`` by pi_k8s.lb.
The inventory's host variables come from pi_k8s.ansible_vars.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from pi_k8s.errors import SpecError, UsageError

# k3s release tags: v1.31.4+k3s1, v1.32.0-rc1+k3s1.
K3S_VERSION = re.compile(r"^v1\.\d+\.\d+(-rc\d+)?\+k3s\d+$")
# Release channels served by update.k3s.io (docs/upgrades/manual.md).
K3S_CHANNEL = re.compile(r"^(stable|latest|testing|v1\.\d+)$")

# k3s arch name → (binary asset, checksum file).
ASSETS = {
    "amd64": ("k3s", "sha256sum-amd64.txt"),
    "arm64": ("k3s-arm64", "sha256sum-arm64.txt"),
    "arm": ("k3s-armhf", "sha256sum-arm.txt"),
}
# `uname -m` → k3s arch, as roles/k3s_install/vars/main.yml maps them.
UNAME_ARCH = {
    "x86_64": "amd64",
    "amd64": "amd64",
    "aarch64": "arm64",
    "arm64": "arm64",
    "armv7l": "arm",
    "armv8l": "arm",
    "armhf": "arm",
}
# k3s settings that would set a token in config.yaml, past the cluster token (refused, as
# roles/k3s_install's preflight does), and the variables whose k3s settings they are.
TOKEN_KEYS = ("token", "token-file", "agent-token", "agent-token-file")
CONFIG_VARS = ("k3s_server_config", "k3s_agent_config")


def check_version(version: str) -> None:
    if not K3S_VERSION.match(version):
        raise UsageError(
            f"--k3s-version {version!r} is not a k3s release tag.",
            hint="Use the form v1.NN.N+k3sN, e.g. --k3s-version v1.31.4+k3s1.",
        )


def check_channel(channel: str) -> None:
    if not K3S_CHANNEL.match(channel):
        raise UsageError(
            f"--k3s-channel {channel!r} is not a k3s release channel.",
            hint="Use stable, latest, testing or v1.NN (a minor release, e.g. v1.31).",
        )


def check_mirror(url: str) -> None:
    parts = urlsplit(url)
    if parts.scheme not in {"http", "https"} or not parts.netloc:
        raise UsageError(
            f"--mirror {url!r} is not an http(s) URL.",
            hint="Give the base URL laid out like the k3s release assets, "
            "e.g. --mirror http://mirror.lan/k3s.",
        )


def check_airgap_dir(path: Path) -> None:
    if not path.is_dir():
        raise UsageError(
            f"--airgap {path} is not a directory.",
            hint="Pass the directory holding the release's k3s binaries and "
            "sha256sum-<arch>.txt files.",
        )


def _listed(sums: Path, asset: str) -> bool:
    """Whether a sha256sum file has a line `<64 hex>  <asset>` (or ` *<asset>`)."""
    try:
        text = sums.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return False
    for line in text.splitlines():
        fields = line.split()
        if (
            len(fields) == 2
            and re.fullmatch(r"[0-9a-fA-F]{64}", fields[0])
            and fields[1].lstrip("*") == asset
        ):
            return True
    return False


def airgap_problems(path: Path, arches: Mapping[str, list[str]]) -> list[str]:
    """What the airgap directory lacks for each architecture: one line per gap."""
    problems = []
    for arch, hosts in sorted(arches.items()):
        binary, sums = ASSETS[arch]
        missing = []
        if not (path / binary).is_file():
            missing.append(binary)
        if not (path / sums).is_file():
            missing.append(sums)
        elif not _listed(path / sums, binary):
            missing.append(f"the {binary} line in {sums}")
        if missing:
            problems.append(f"{arch} ({', '.join(hosts)}): no {' and no '.join(missing)}")
    return problems


def arches_needed(hostvars: Mapping[str, Mapping[str, Any]]) -> dict[str, list[str]]:
    """k3s arch → the inventory hosts that need it (a host without pi_k8s_arch: all)."""
    needed: dict[str, list[str]] = {}
    for host, hv in sorted(hostvars.items()):
        arch = UNAME_ARCH.get(str(hv.get("pi_k8s_arch") or ""))
        for a in [arch] if arch else list(ASSETS):
            needed.setdefault(a, []).append(host if arch else f"{host}: arch unknown")
    return needed


def check_airgap(path: Path, hostvars: Mapping[str, Mapping[str, Any]]) -> None:
    """UsageError unless the airgap directory serves every host of the inventory."""
    problems = airgap_problems(path, arches_needed(hostvars))
    if problems:
        unknown = any("arch unknown" in p for p in problems)
        raise UsageError(
            f"--airgap {path} lacks what the hosts need: " + "; ".join(problems) + ".",
            hint="Put each architecture's binary (k3s, k3s-arm64, k3s-armhf) and its "
            "sha256sum-<arch>.txt (amd64, arm64, arm) from the same k3s release there."
            + (
                " A host whose arch is unknown needs all three; set pi_k8s_arch "
                "(uname -m, e.g. aarch64) in its host vars to need only its own."
                if unknown
                else ""
            ),
        )


def refuse_config_tokens(inventory: Path, hostvars: Mapping[str, Mapping[str, Any]]) -> None:
    """SpecError (exit 3) when k3s_server_config or k3s_agent_config sets a token."""
    for name in CONFIG_VARS:
        found: dict[str, list[str]] = {}
        for host, hv in sorted(hostvars.items()):
            config = hv.get(name)
            if isinstance(config, Mapping):
                for key in TOKEN_KEYS:
                    if key in config:
                        found.setdefault(key, []).append(host)
        if found:
            keys = ", ".join(sorted(found))
            hosts = sorted({h for hs in found.values() for h in hs})
            raise SpecError(
                f"{inventory}: {name} sets {keys} (for {', '.join(hosts)}): the cluster token "
                "is the only way to set the token.",
                hint=f"Remove {keys} from {name}. Leave cluster_token unset to use the token "
                "pi-k8s keeps (or adopts from the running cluster), or set cluster_token "
                "from a vault.",
            )


# The image list a k3s release ships beside its airgap image archives (k3s's
# scripts/airgap/image-list.txt); it carries the busybox image k3s itself uses.
AIRGAP_IMAGE_LIST = "k3s-images.txt"
_BUSYBOX = re.compile(r"(^|/)(mirrored-)?(library-)?busybox:[\w.-]+$")


def airgap_dns_image(path: Path) -> tuple[str | None, str]:
    """The busybox image an offline cluster can run for verify's DNS smoke test.

    Returns ``(image, "")`` when the airgap directory has an image archive and its
    ``k3s-images.txt`` lists a busybox image, else ``(None, why)``.
    """
    archives = sorted(path.glob("k3s-airgap-images-*.tar*"))
    listing = path / AIRGAP_IMAGE_LIST
    if not archives or not listing.is_file():
        return None, (
            f"{path} has no k3s-airgap-images-<arch>.tar* with its {AIRGAP_IMAGE_LIST}, and an "
            "offline LAN cannot pull one"
        )
    for line in listing.read_text(errors="replace").splitlines():
        if _BUSYBOX.search(line.strip()):
            return line.strip(), ""
    return None, f"{listing} lists no busybox image, and an offline LAN cannot pull one"
