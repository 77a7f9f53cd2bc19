"""``--fast``: the playbook runs inside use Mitogen's linear strategy instead of Ansible's.

Mitogen (PyPI ``mitogen``, installed with ``pip install 'pi-k8s[fast]'``) keeps one Python
interpreter per host for the whole run and runs each task in it, instead of sending and
starting a module over SSH for every task. On the testbed a no-op re-run of ``site.yml``
on 3 hosts took 44 s with it against 84 to 129 s without, on a loaded machine
(docs/performance.md has the figures).

It is opt-in because Ansible deprecates strategy plugins from outside ansible.builtin
("no backwards compatibility guarantees"): a future ansible-core may drop them. The
runs that use it turn Ansible's deprecation warnings off, so that one warning does not
reach the user on every run; everything else runs as without ``--fast``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from contextvars import ContextVar
from pathlib import Path

from pi_k8s.errors import UsageError

STRATEGY = "mitogen_linear"
_STRATEGY_DIR: ContextVar[Path | None] = ContextVar("pi_k8s_fast_strategy_dir", default=None)


def strategy_dir() -> Path:
    """Where Mitogen's strategy plugins are; UsageError (exit 2) when it is not installed."""
    try:
        import ansible_mitogen
    except ImportError:
        raise UsageError(
            "--fast needs Mitogen, which is not installed.",
            hint="Install it with pip install 'pi-k8s[fast]' (PyPI's mitogen), or leave "
            "out --fast.",
        ) from None
    return Path(ansible_mitogen.__file__).parent / "plugins" / "strategy"


@contextlib.contextmanager
def fast_strategy(enabled: bool = True) -> Iterator[None]:
    """Every playbook run inside uses Mitogen (checked here, before anything runs)."""
    token = _STRATEGY_DIR.set(strategy_dir() if enabled else None)
    try:
        yield
    finally:
        _STRATEGY_DIR.reset(token)


def ansible_env() -> dict[str, str]:
    """The environment a playbook run needs for the current strategy (empty: Ansible's)."""
    where = _STRATEGY_DIR.get()
    if where is None:
        return {}
    return {
        "ANSIBLE_STRATEGY_PLUGINS": str(where),
        "ANSIBLE_STRATEGY": STRATEGY,
        "ANSIBLE_DEPRECATION_WARNINGS": "False",
    }
