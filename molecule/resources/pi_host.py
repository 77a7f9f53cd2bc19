"""Lay out the files that make a molecule test host look like a Raspberry Pi.

Usage: pi_host.py DIR HOST PROFILE_INDEX   (PROFILE_INDEX -1 = not a Pi)

Writes DIR/HOST/{firmware,cpuinfo,meminfo,root} with the same contents the testbed uses
(pi_k8s.pi_identity) and prints JSON: {"volumes": [...podman -v specs...], "root": DIR/HOST/root}.
The caller bind-mounts the volumes (device tree, cpuinfo, meminfo: read-only, as on a Pi)
and copies root/ into the container before it starts (cmdline.txt and friends: writable).
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

from pi_k8s import pi_identity


def main() -> None:
    directory, host, index = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3])
    host_dir = directory / host
    if host_dir.exists():
        shutil.rmtree(host_dir)
    root = host_dir / "root"
    root.mkdir(parents=True)
    volumes: list[str] = []
    if index >= 0:
        profile = pi_identity.PI_PROFILES[index % len(pi_identity.PI_PROFILES)]
        seed = f"molecule/{host}"
        base = host_dir / "firmware" / "devicetree" / "base"
        base.mkdir(parents=True)
        for name, data in pi_identity.devicetree_files(profile, seed).items():
            (base / name).write_bytes(data)
        (host_dir / "cpuinfo").write_text(
            pi_identity.cpuinfo(Path("/proc/cpuinfo").read_text(), profile, seed)
        )
        (host_dir / "meminfo").write_text(
            pi_identity.meminfo(Path("/proc/meminfo").read_text(), profile.memory_mb)
        )
        volumes += [
            f"{host_dir / 'firmware'}:/sys/firmware:ro",
            f"{host_dir / 'cpuinfo'}:/proc/cpuinfo:ro",
            f"{host_dir / 'meminfo'}:/proc/meminfo:ro",
        ]
        for path, content in pi_identity.boot_files().items():
            target = root / path.lstrip("/")
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(content)
    print(json.dumps({"volumes": volumes, "root": str(root)}))


if __name__ == "__main__":
    main()
