"""k3s release tags compared, the version-skew rule, and a channel resolved to a tag.

A tag is ``v1.NN.N+k3sN`` (an ``-rcN`` sorts before its release). Kubernetes' version-skew
policy lets a cluster move one minor release at a time, and never back
(https://kubernetes.io/releases/version-skew-policy/; docs.k3s.io/upgrades). A channel
(stable, latest, testing, v1.NN) is resolved the way k3s's install.sh does: the channel
server answers ``<url>/<channel>`` with a redirect whose last path segment is the tag.
"""

from __future__ import annotations

import http.client
import re
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

from pi_k8s.errors import SpecError

CHANNEL_URL = "https://update.k3s.io/v1-release/channels"
_TAG = re.compile(r"^v(\d+)\.(\d+)\.(\d+)(?:-rc(\d+))?\+k3s(\d+)$")


@dataclass(frozen=True, order=True)
class Release:
    major: int
    minor: int
    patch: int
    rc: int  # a release candidate sorts before its release (rc 0 stands for none)
    k3s: int
    tag: str

    @property
    def line(self) -> str:
        """The minor release it belongs to, e.g. v1.31."""
        return f"v{self.major}.{self.minor}"


def parse(tag: str) -> Release | None:
    """The release of a tag (None when it is not one)."""
    m = _TAG.match(tag.strip())
    if not m:
        return None
    major, minor, patch, rc, k3s = m.groups()
    return Release(int(major), int(minor), int(patch), int(rc) if rc else 10**6, int(k3s), tag)


def skew_problem(now: str, after: str) -> str | None:
    """Why moving a node from ``now`` to ``after`` is refused, or None when it is allowed."""
    a, b = parse(now), parse(after)
    if a is None or b is None:
        return f"cannot compare {now!r} with {after!r}"
    if b < a:
        return f"{after} is older than {now} (a downgrade)"
    if b.major != a.major or b.minor > a.minor + 1:
        return (
            f"{now} → {after} skips a minor release; Kubernetes allows one at a time "
            f"(upgrade to v{a.major}.{a.minor + 1} first)"
        )
    return None


def resolve_channel(channel: str, url: str = CHANNEL_URL, timeout: float = 10.0) -> str:
    """The tag a channel points at now (one request, the redirect not followed).
    SpecError when the channel server does not answer with a release redirect."""
    base = urlsplit(f"{url.rstrip('/')}/{channel}")
    conn_type = (
        http.client.HTTPSConnection if base.scheme == "https" else http.client.HTTPConnection
    )
    where = f"{url.rstrip('/')}/{channel}"
    try:
        conn = conn_type(base.netloc, timeout=timeout)
        conn.request("GET", base.path or "/")
        answer = conn.getresponse()
        location = answer.getheader("Location") or ""
        conn.close()
    except OSError as exc:
        raise SpecError(
            f"The k3s channel server {where} did not answer: {exc}.",
            hint="Pin the release with --k3s-version (e.g. v1.31.5+k3s1), or set "
            "k3s_install_channel_url to a reachable channel server.",
        ) from exc
    tag = unquote(urlsplit(location).path.rsplit("/", 1)[-1]) if location else ""
    if answer.status not in (301, 302, 303, 307, 308) or parse(tag) is None:
        raise SpecError(
            f"The k3s channel server {where} answered {answer.status} "
            f"{location or '(no redirect)'}: no release tag.",
            hint="Pin the release with --k3s-version (e.g. v1.31.5+k3s1).",
        )
    return tag
