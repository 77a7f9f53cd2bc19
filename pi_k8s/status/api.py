"""Who answers on the API port: ``GET https://ADDRESS:6443/ping`` from the controller.

k3s's supervisor router serves ``/ping`` (body ``pong``) on 6443 without authentication,
beside ``/cacerts`` (k3s pkg/server/router.go). It is a liveness
probe only: no credentials are sent, nothing is read but ``pong``, and the certificate
(signed by the cluster's own CA, which the controller need not hold) is not checked.
"""

from __future__ import annotations

import http.client
import ssl
import time
from urllib.parse import urlsplit

PING_TIMEOUT_S = 3.0
API_PORT = 6443


def endpoint_address(endpoint: str) -> tuple[str, int]:
    """``https://10.0.0.1:6443`` → ("10.0.0.1", 6443)."""
    parts = urlsplit(endpoint)
    return parts.hostname or endpoint, parts.port or API_PORT


def ping(address: str, port: int = API_PORT, timeout: float = PING_TIMEOUT_S) -> tuple[bool, str]:
    """(answers, what happened): ``pong in 12 ms``, or the error in one line."""
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    start = time.monotonic()
    conn = http.client.HTTPSConnection(address, port, timeout=timeout, context=context)
    try:
        conn.request("GET", "/ping")
        response = conn.getresponse()
        body = response.read(64).decode("utf-8", errors="replace").strip()
    except (OSError, http.client.HTTPException) as exc:
        return False, _reason(exc)
    finally:
        conn.close()
    ms = (time.monotonic() - start) * 1000
    if response.status == 200 and body == "pong":
        return True, f"pong in {ms:.0f} ms"
    return False, f"HTTP {response.status}: {body[:60]!r} (not k3s's pong)"


def _reason(exc: BaseException) -> str:
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused (nothing listens on the port)"
    if isinstance(exc, TimeoutError):
        return "no answer (timeout)"
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0][:200]
