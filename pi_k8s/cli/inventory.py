"""`pi-k8s inventory`: render an Ansible inventory from a cluster spec (filled by the inventory work)."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    del app
