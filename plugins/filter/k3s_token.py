"""k3s_token_secret: the part of a k3s token that k3s compares (docs.k3s.io/cli/token).

A k3s token is either short (the secret alone) or secure, ``K10<CA hash>::<credentials>``,
where the credentials are ``<user>:<password>`` (``server:<secret>`` in a server's
``/var/lib/rancher/k3s/server/token``) or a bearer token. k3s keeps the short form of
the token it was started with and refuses to start with another one ("bootstrap data
already found and encrypted with different token"); like k3s's ``NormalizeToken`` this
filter returns the password (or bearer token) of a secure token, a short one unchanged.
"""

from __future__ import annotations


def k3s_token_secret(token: object) -> str:
    text = str(token or "").strip()
    if text.startswith("K10") and "::" in text:
        credentials = text.split("::", 1)[1]
        user, sep, password = credentials.partition(":")
        return password if sep else credentials
    return text


class FilterModule:
    def filters(self) -> dict[str, object]:
        return {"k3s_token_secret": k3s_token_secret}
