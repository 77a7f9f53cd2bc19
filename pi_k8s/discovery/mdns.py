"""Step 2: mDNS (python-zeroconf): `_workstation._tcp` and `raspberrypi.local`."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Sequence
from typing import Any

from pi_k8s.discovery.candidates import Candidate

WORKSTATION_SERVICE = "_workstation._tcp.local."
DEFAULT_MDNS_NAMES = ("raspberrypi.local.",)

_WORKSTATION_MAC = re.compile(r"\[([0-9a-fA-F]{2}(?::[0-9a-fA-F]{2}){5})\]")


def parse_workstation_name(name: str) -> tuple[str, str | None]:
    """``rpi-1 [dc:a6:32:01:02:03]._workstation._tcp.local.`` → ("rpi-1", "dc:a6:32:01:02:03")."""
    instance = name.removesuffix("." + WORKSTATION_SERVICE).removesuffix(WORKSTATION_SERVICE)
    match = _WORKSTATION_MAC.search(instance)
    mac = match.group(1).lower() if match else None
    host = _WORKSTATION_MAC.sub("", instance).strip() or instance
    return host, mac


async def mdns_browse(
    interfaces: Sequence[str],
    *,
    duration: float,
    names: Sequence[str] = DEFAULT_MDNS_NAMES,
) -> list[Candidate]:
    """Browse ``_workstation._tcp`` and resolve ``names`` on the given interface addresses.

    Binds python-zeroconf to exactly ``interfaces`` (IPv4 addresses of this machine);
    an empty list does nothing.
    """
    if not interfaces:
        return []
    from zeroconf import IPVersion, ServiceStateChange
    from zeroconf.asyncio import AsyncServiceBrowser, AsyncServiceInfo, AsyncZeroconf

    aiozc = AsyncZeroconf(interfaces=list(interfaces), ip_version=IPVersion.V4Only)
    seen: list[str] = []

    def on_change(
        zeroconf: Any, service_type: str, name: str, state_change: ServiceStateChange
    ) -> None:
        del zeroconf, service_type
        if state_change is not ServiceStateChange.Removed and name not in seen:
            seen.append(name)

    found: list[Candidate] = []
    browser = AsyncServiceBrowser(aiozc.zeroconf, [WORKSTATION_SERVICE], handlers=[on_change])
    try:
        resolved = await asyncio.gather(
            *(_resolve_name(aiozc, n, duration) for n in names), asyncio.sleep(duration)
        )
        for name, addrs in zip(names, resolved, strict=False):
            for addr in addrs or []:
                found.append(
                    Candidate(addr, hostname=name.removesuffix(".local."), sources=["mdns"])
                )
        for name in seen:
            info = AsyncServiceInfo(WORKSTATION_SERVICE, name)
            if not await info.async_request(aiozc.zeroconf, int(duration * 1000)):
                continue
            host, mac = parse_workstation_name(name)
            for addr in info.parsed_addresses(IPVersion.V4Only):
                found.append(Candidate(addr, mac=mac, hostname=host, sources=["mdns"]))
    finally:
        await browser.async_cancel()
        await aiozc.async_close()
    return found


async def _resolve_name(aiozc: Any, name: str, duration: float) -> list[str]:
    from zeroconf import AddressResolverIPv4, IPVersion

    resolver = AddressResolverIPv4(name)
    if await resolver.async_request(aiozc.zeroconf, duration * 1000):
        return list(resolver.parsed_addresses(IPVersion.V4Only))
    return []
