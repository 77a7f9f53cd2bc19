"""Cluster spec + discovered hosts → roles → Ansible inventory dict → YAML file.

`plan_inventory(spec, hosts)` does the work and returns the inventory, why each host
got its role, and warnings; `build_inventory(spec, hosts)` returns just the dict.
Nothing here prints.

Decisions, in order:

1. Selection. With `hosts.include` empty, every host discovery marked `is_pi` (and
   probed over SSH without error) is a candidate; with it set, exactly the included
   hosts are (a non-Pi or unprobed host can join only this way). `hosts.exclude`
   always wins. Selectors match a hostname (case-insensitive, with or without the
   domain), a MAC (case-insensitive) or an IPv4 address.
2. Refusals (SpecError): duplicate hostnames or IPs (k3s node names must be unique),
   armv6 boards (Pi 1 / Zero / Zero W: k3s ships no armv6 build), no hostname.
3. Servers. Overrides force roles first. The remaining server slots go to the
   eligible hosts ranked by: most RAM, then 64-bit userland (arm64) over 32-bit,
   then SSD/NVMe/USB root over SD card, then MAC order (IP when no MAC).
   A host below 2 GB is never chosen (see SERVER_MIN_MEMORY_MB).
4. Subnet. When the spec sets `subnet`, every node must be in it; `api_vip` is no
   node's address (the spec checks it is inside `subnet`). The API endpoint is the VIP,
   else the best-ranked server's address. `lb_pool` holds no node's address (the spec
   checks it is inside `subnet`, outside `api_vip`, and only with `lb: metallb`); it
   becomes cluster_lb_pool with cluster_lb.
5. Warnings (returned): 32-bit userland mixed with 64-bit, HA servers on SD cards,
   explicitly included hosts whose SSH probe failed, exclude entries and overrides
   matching nothing.

The package, one job a module: ``hosts`` (read the saved discovery), ``plan`` (the
decisions above, in order) over ``selection`` (1, 2 and its warnings), ``roles`` (3) and
``checks`` (4, the hardware warnings of 5), ``decisions`` (what each host got and why),
``build`` (decisions → inventory dict) and ``render`` (dict → the YAML file).
"""

from pi_k8s.inventory.decisions import InventoryPlan, Role, RoleDecision
from pi_k8s.inventory.hosts import load_hosts
from pi_k8s.inventory.plan import build_inventory, plan_inventory
from pi_k8s.inventory.render import render_inventory, write_inventory
from pi_k8s.inventory.roles import FAST_ROOTS, SERVER_MIN_BOARD_MB, SERVER_MIN_MEMORY_MB
from pi_k8s.inventory.selection import ARMV6_BOARD_TYPES, is_armv6

__all__ = [
    "ARMV6_BOARD_TYPES",
    "FAST_ROOTS",
    "SERVER_MIN_BOARD_MB",
    "SERVER_MIN_MEMORY_MB",
    "InventoryPlan",
    "Role",
    "RoleDecision",
    "build_inventory",
    "is_armv6",
    "load_hosts",
    "plan_inventory",
    "render_inventory",
    "write_inventory",
]
