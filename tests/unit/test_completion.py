"""Shell completion (Typer's): `--show-completion SHELL` prints the script for bash, zsh
and fish, and the script's own protocol completes commands, subcommands and options."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

EXE = shutil.which("pi-k8s", path=str(Path(sys.executable).parent)) or "pi-k8s"


def _run(env: dict[str, str], *args: str) -> str:
    proc = subprocess.run(
        [EXE, *args], capture_output=True, text=True, env={**os.environ, **env}, timeout=60
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


@pytest.mark.parametrize(
    ("shell", "hook"),
    [
        ("bash", "complete -o default -F _pi_k8s_completion pi-k8s"),
        ("zsh", "compdef _pi_k8s_completion pi-k8s"),
        ("fish", "complete --command pi-k8s"),
    ],
)
def test_the_completion_script_for_each_shell(shell: str, hook: str) -> None:
    # Typer detects the user's shell; this switch lets the test name it instead.
    script = _run({"_TYPER_COMPLETE_TEST_DISABLE_SHELL_DETECTION": "1"}, "--show-completion", shell)
    assert hook in script
    assert f"_PI_K8S_COMPLETE=complete_{shell}" in script


def test_bash_completes_a_command() -> None:
    out = _run({"_PI_K8S_COMPLETE": "complete_bash", "COMP_WORDS": "pi-k8s upg", "COMP_CWORD": "1"})
    assert out.split() == ["upgrade"]


def test_zsh_completes_an_option_with_its_help() -> None:
    out = _run(
        {"_PI_K8S_COMPLETE": "complete_zsh", "_TYPER_COMPLETE_ARGS": "pi-k8s upgrade --k3s-c"}
    )
    assert '"--k3s-channel":"stable, latest, testing or v1.NN."' in out


def test_fish_completes_subcommands() -> None:
    out = _run(
        {
            "_PI_K8S_COMPLETE": "complete_fish",
            "_TYPER_COMPLETE_FISH_ACTION": "get-args",
            "_TYPER_COMPLETE_ARGS": "pi-k8s nodes ",
        }
    )
    assert [line.split("\t")[0] for line in out.splitlines()] == ["add", "remove"]
