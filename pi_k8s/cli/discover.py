"""`pi-k8s discover`: find the Raspberry Pis on the LAN (filled by the discovery work)."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    del app
