"""Step 1: a concurrent TCP connect to port 22 of every address (a refusal counts too)."""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
from collections.abc import Sequence

from pi_k8s.discovery.ssh import SSH_PORT


async def _tcp_alive(ip: str, port: int, timeout: float) -> bool:
    """True when something at ip answers on port: a connection, or a refusal (RST)."""
    try:
        _reader, writer = await asyncio.wait_for(asyncio.open_connection(ip, port), timeout)
    except ConnectionRefusedError:
        return True
    except (TimeoutError, OSError):
        return False
    writer.close()
    with contextlib.suppress(OSError):
        await writer.wait_closed()
    return True


async def sweep(
    networks: Sequence[ipaddress.IPv4Network],
    *,
    timeout: float,
    concurrency: int,
    exclude: set[str] | None = None,
) -> set[str]:
    """Addresses in ``networks`` that answered a TCP connect (or refused it) on port 22."""
    exclude = exclude or set()
    limit = asyncio.Semaphore(concurrency)

    async def one(ip: str) -> str | None:
        async with limit:
            return ip if await _tcp_alive(ip, SSH_PORT, timeout) else None

    addresses = [str(a) for net in networks for a in _addresses(net) if str(a) not in exclude]
    results = await asyncio.gather(*(one(ip) for ip in addresses))
    return {ip for ip in results if ip}


def _addresses(net: ipaddress.IPv4Network) -> list[ipaddress.IPv4Address]:
    return list(net.hosts()) if net.prefixlen < 31 else list(net)
