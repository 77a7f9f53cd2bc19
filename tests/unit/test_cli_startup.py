"""`pi-k8s --help` loads no command's heavy dependencies: asyncssh (discovery, status),
pydantic (the specs), ansible-runner, the status and discovery packages are imported
where they are used (pi_k8s.operations resolves its names on first use). Timing is
measured by benchmarks/cli_startup.py, never asserted."""

from __future__ import annotations

import subprocess
import sys

HEAVY = ("asyncssh", "pydantic", "ansible_runner", "ansible", "pi_k8s.discovery", "pi_k8s.status")


def _loaded_after(code: str) -> set[str]:
    probe = f"{code}\nimport sys\nprint('\\n'.join(sys.modules))"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    return set(out.stdout.split())


def test_help_imports_no_heavy_module() -> None:
    code = (
        "from typer.testing import CliRunner\nfrom pi_k8s.cli import app\n"
        "r = CliRunner().invoke(app, ['--help'])\nassert r.exit_code == 0, r.output"
    )
    loaded = _loaded_after(code)
    assert not [m for m in HEAVY if m in loaded]


def test_a_name_of_operations_loads_its_module_on_first_use() -> None:
    loaded = _loaded_after("from pi_k8s import operations\noperations.upgrade_cluster")
    assert "pi_k8s.operations.upgrade" in loaded
    assert "pi_k8s.operations.discover" not in loaded and "asyncssh" not in loaded


def test_every_exported_name_resolves() -> None:
    from pi_k8s import operations

    for name in operations.__all__:
        assert getattr(operations, name) is not None, name
