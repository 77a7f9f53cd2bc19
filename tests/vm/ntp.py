"""An NTP server for the test VMs: Debian's chronyd, bound to their bridge's address only.

The VMs reach nothing beyond their bridge (an iptables rule rejects what is forwarded out
of it), so no public time server: the tests give pi_prereq this server in
``pi_prereq_ntp_servers`` and the role's wait for a synchronised clock runs for real.
chronyd serves this machine's clock (``local stratum``) and never sets it (``-x``); it
asks no server itself and listens on ``<bridge address>:123`` only (the network rule:
tests talk only to loopback and hosts they made). ``scripts/setup-host.sh --vm``
installs chrony and leaves its own service off.
"""

from __future__ import annotations

import ipaddress
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

CHRONYD = "/usr/sbin/chronyd"


def config(address: str, subnet: str, workdir: Path) -> str:
    return (
        "# pi-k8s VM tests: serve this machine's clock to the VMs' subnet, on the bridge only.\n"
        f"bindaddress {address}\n"
        f"allow {subnet}\n"
        "local stratum 8\n"
        "cmdport 0\n"
        f"pidfile {workdir}/chronyd.pid\n"
        f"driftfile {workdir}/drift\n"
    )


def _answers(address: str) -> bool:
    """One NTP client request (mode 3) to ``address``: does a server reply (mode 4)?"""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(1)
        try:
            sock.sendto(b"\x23" + 47 * b"\0", (address, 123))
            reply = sock.recv(512)
        except OSError:
            return False
    return len(reply) >= 48 and reply[0] & 0x07 == 4


@contextmanager
def ntp_server(subnet: str, workdir: Path) -> Iterator[str]:
    """chronyd on the bridge address (``.1`` of ``subnet``) while the block runs; yields it."""
    if not shutil.which(CHRONYD):
        pytest.fail("chronyd is missing: run `bash scripts/setup-host.sh --vm` (installs chrony).")
    net = ipaddress.ip_network(subnet)
    address = str(next(net.hosts()))
    workdir.mkdir(parents=True, exist_ok=True)
    conf = workdir / "chrony.conf"
    conf.write_text(config(address, str(net), workdir))
    log = (workdir / "chronyd.log").open("w")
    # -4: IPv4 only; -d: foreground, log to stderr; -x: never touch this machine's clock;
    # -u root: the pid and drift files stay in workdir (Debian's default user could not
    # write there).
    proc = subprocess.Popen(
        [CHRONYD, "-4", "-d", "-x", "-u", "root", "-f", str(conf)], stdout=log, stderr=log
    )
    try:
        deadline = time.monotonic() + 30
        while not _answers(address):
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"chronyd did not answer on {address}:123; see {workdir}/chronyd.log")
            time.sleep(0.5)
        yield address
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()
