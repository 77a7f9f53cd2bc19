"""LAN → list[PiHost]: sweep, neighbour table, mDNS, MAC OUI, then an SSH probe per host.

1. Sweep: a concurrent TCP connect to port 22 of every address of each subnet. A
   connection or a refusal both prove a host is there; the connects also make the
   kernel resolve every address, so the neighbour table afterwards holds the MAC of
   each host that answered ARP, even one whose firewall drops port 22.
2. mDNS (python-zeroconf), at the same time: ``_workstation._tcp`` (what Raspberry Pi
   OS advertises; the instance name carries the MAC) and ``raspberrypi.local``. It
   binds only to the interface addresses it is given.
3. SSH (asyncssh), bounded by a semaphore: one command reads the device tree, cpuinfo,
   meminfo, os-release … (``probe.PROBE_SCRIPT``), parsed by ``probe.identify``.
   Host keys are trusted on first use into a known_hosts file pi-k8s owns; a changed
   key fails that host with ``ssh_error="host key changed"``.

Hosts that answer but are not Pis come back with ``is_pi=False``; hosts SSH cannot
probe come back with ``ssh_error`` set and the OUI verdict.

The package, one module a step: ``subnets`` (what to search), ``tcp_sweep`` (1),
``neighbours`` (the MACs after 1), ``mdns`` (2), ``ssh`` (3), ``candidates`` (a host
seen before its probe), ``pipeline`` (``discover``: the steps together) and
``hosts_file`` (hosts.json).
"""

from pi_k8s.discovery.candidates import Candidate
from pi_k8s.discovery.hosts_file import write_hosts_json
from pi_k8s.discovery.mdns import (
    DEFAULT_MDNS_NAMES,
    WORKSTATION_SERVICE,
    mdns_browse,
    parse_workstation_name,
)
from pi_k8s.discovery.neighbours import neighbour_table
from pi_k8s.discovery.pipeline import Progress, discover, find_hosts
from pi_k8s.discovery.ssh import SSH_PORT, KnownHosts, SshSettings, check_identity, ssh_probe
from pi_k8s.discovery.subnets import MAX_HOSTS, default_subnets, local_addresses, parse_subnets
from pi_k8s.discovery.tcp_sweep import sweep

__all__ = [
    "DEFAULT_MDNS_NAMES",
    "MAX_HOSTS",
    "SSH_PORT",
    "WORKSTATION_SERVICE",
    "Candidate",
    "KnownHosts",
    "Progress",
    "SshSettings",
    "check_identity",
    "default_subnets",
    "discover",
    "find_hosts",
    "local_addresses",
    "mdns_browse",
    "neighbour_table",
    "parse_subnets",
    "parse_workstation_name",
    "ssh_probe",
    "sweep",
    "write_hosts_json",
]
