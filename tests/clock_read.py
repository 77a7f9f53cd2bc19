"""host_state's clock read, as a shell command to run on a test host.

pi_prereq decides whether the clock is synchronised from host_state's ``clock`` read (the
kernel's maximum error, as systemd-timedated computes NTPSynchronized), not from
timedatectl. The testbed and VM tests run the same function on their hosts and compare
its answer with ``timedatectl show -p NTPSynchronized --value``.
"""

from __future__ import annotations

import importlib.util
import inspect
import shlex
from pathlib import Path

_MODULE = Path(__file__).resolve().parents[1] / "plugins" / "modules" / "host_state.py"


def clock_read_command() -> str:
    """``python3 -c ...`` printing yes, no or unknown, as timedatectl prints yes or no."""
    spec = importlib.util.spec_from_file_location("host_state_module", _MODULE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    code = "\n".join(
        [
            f"MAXERROR_SYNCED_US = {module.MAXERROR_SYNCED_US}",
            inspect.getsource(module.clock_state),
            "synced = clock_state()['synchronized']",
            "print({True: 'yes', False: 'no'}.get(synced, 'unknown'))",
        ]
    )
    return f"python3 -c {shlex.quote(code)}"
