"""One typed wrapper over ansible-runner: run a playbook, stream events, return a RunResult.

``ansible_runner`` does not raise when a playbook fails; this module reads its status,
rc and per-host stats and turns them into a ``RunResult`` naming the failed and
unreachable hosts, the task and Ansible's message. ``RunResult.raise_for_status()``
turns a failure into a ``PlaybookFailed`` error for the CLI.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import functools
import json
import os
import shutil
import sys
import threading
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pi_k8s import fast, paths
from pi_k8s.errors import PlaybookFailed, SpecError

KEEP_RUNS = 20
# ansible-playbook's prompt for --ask-become-pass ("BECOME password: "), which
# ansible-runner answers through pexpect: the password is in no argument, file or variable.
BECOME_PROMPT = r"^BECOME password.*:\s*?$"
_BECOME_PASSWORD: ContextVar[Callable[[], str | None] | None] = ContextVar(
    "pi_k8s_become_password", default=None
)
# What Ansible says when sudo wants a password it was not given, or refused the one given.
_SUDO_PASSWORD_MESSAGES = ("missing sudo password", "incorrect sudo password")


@contextlib.contextmanager
def become_password(password: str | Callable[[], str] | None) -> Iterator[None]:
    """Every playbook run inside answers sudo's password prompt with ``password`` (None:
    no prompt is expected; the hosts' sudo must not ask). A function in its place is called
    once, when the first playbook starts, so input refused before any run asks nothing."""
    if callable(password):
        ask = functools.cache(password)
        token = _BECOME_PASSWORD.set(lambda: ask() or None)
    else:
        token = _BECOME_PASSWORD.set((lambda: password or None) if password else None)
    try:
        yield
    finally:
        _BECOME_PASSWORD.reset(token)


def current_become_password() -> str | None:
    """The password the runs inside ``become_password`` answer with (asked now if not yet)."""
    get = _BECOME_PASSWORD.get()
    return get() if get is not None else None


@dataclass
class RunEvent:
    """What the console needs to draw progress: one per play, task start and host result."""

    kind: str  # play | task | ok | changed | failed | unreachable | skipped | stdout
    play: str = ""
    task: str = ""
    host: str = ""
    message: str = ""


@dataclass
class HostStats:
    ok: int = 0
    changed: int = 0
    failed: int = 0
    unreachable: int = 0
    skipped: int = 0


@dataclass
class TaskFailure:
    host: str
    task: str
    message: str
    unreachable: bool = False


@dataclass
class RunResult:
    playbook: str
    status: str  # successful | failed | timeout | canceled
    rc: int
    artifacts: Path
    hosts: dict[str, HostStats] = field(default_factory=dict)
    failures: list[TaskFailure] = field(default_factory=list)
    # host → names of the tasks that changed (or would, in check mode), in order
    changes: dict[str, list[str]] = field(default_factory=dict)
    # REPORTED_FACTS the run set (the last value seen), e.g. the release a channel resolved to
    reported: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.status == "successful" and self.rc == 0

    @property
    def changed_total(self) -> int:
        return sum(h.changed for h in self.hosts.values())

    @property
    def unreachable_hosts(self) -> list[str]:
        return sorted(h for h, s in self.hosts.items() if s.unreachable)

    def to_dict(self) -> dict[str, Any]:
        """What --json shows of a run: status, the per-host recap, what changed (or would,
        in check mode), the failures and where ansible-runner's artifacts are."""
        return {
            "playbook": self.playbook,
            "status": self.status,
            "rc": self.rc,
            "artifacts": str(self.artifacts),
            "recap": {h: dict(vars(s)) for h, s in sorted(self.hosts.items())},
            "changes": {h: list(t) for h, t in sorted(self.changes.items())},
            "failures": [dict(vars(f)) for f in self.failures],
        }

    def raise_for_status(self) -> RunResult:
        if self.ok:
            return self
        if self.status == "canceled":
            raise PlaybookFailed(
                f"{self.playbook} was cancelled.",
                hint=f"Re-run to finish; artifacts are in {self.artifacts}.",
            )
        sudo = sorted(
            {f.host for f in self.failures if _SUDO_PASSWORD_MESSAGES[0] in f.message.lower()}
        )
        wrong = sorted(
            {f.host for f in self.failures if _SUDO_PASSWORD_MESSAGES[1] in f.message.lower()}
        )
        if sudo or wrong:
            named = ", ".join(sudo or wrong)
            raise PlaybookFailed(
                f"{self.playbook} failed: sudo on {named} "
                + ("asks for a password and none was given." if sudo else "refused the password."),
                hint="Pass -K (--ask-become-pass) to be asked for the sudo password"
                + (" and type it again" if wrong and not sudo else "")
                + f"; Ansible's full log is in {self.artifacts}.",
            )
        lines = []
        for f in self.failures:
            what = "unreachable" if f.unreachable else "failed"
            lines.append(f"{f.host} {what} at '{f.task}': {f.message}")
        if not lines:
            lines.append(f"ansible-playbook exited with rc={self.rc} ({self.status})")
        raise PlaybookFailed(
            f"{self.playbook} failed:\n  " + "\n  ".join(lines),
            hint=f"Fix the cause and re-run; Ansible's full log is in {self.artifacts}.",
        )


EventCallback = Callable[[RunEvent], None]
# Facts a run reports back to pi-k8s (never a secret): the k3s release the role resolved.
REPORTED_FACTS = ("k3s_install_wanted_version",)


def _scrub_command_env(run_dir: Path, ours: set[str]) -> None:
    """Keep only pi-k8s's own variables in ansible-runner's ``artifacts/*/command`` record.

    ansible-runner writes the whole environment of ansible-playbook there, the user's
    secrets included (a registry token in ``token_env``, cloud keys): the run directory
    keeps the variables pi-k8s set and drops the rest once the run ends.
    """
    for path in run_dir.glob("artifacts/*/command"):
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            env = data.get("env") or {}
            data["env"] = {k: v for k, v in env.items() if k in ours}
            paths.write_atomic(path, json.dumps(data), mode=0o600)
        except (OSError, ValueError, AttributeError):
            path.unlink(missing_ok=True)


def _rotate(runs: Path, keep: int = KEEP_RUNS) -> None:
    entries = sorted((p for p in runs.iterdir() if p.is_dir()), key=lambda p: p.name)
    for old in entries[:-keep]:
        shutil.rmtree(old, ignore_errors=True)


def _message(res: dict[str, Any]) -> str:
    msg = res.get("msg") or res.get("stderr") or res.get("reason") or ""
    # validate_argument_spec (and a role's own argument spec check) puts only a heading in
    # msg ("Validation of arguments failed:"); the errors themselves are a list beside it.
    if res.get("argument_errors"):
        heading = (str(msg).strip().splitlines() or ["Validation of arguments failed"])[0]
        msg = f"{heading.rstrip(':')}: " + "; ".join(map(str, res["argument_errors"]))
    if isinstance(msg, list):
        msg = "; ".join(map(str, msg))
    text = str(msg).strip().splitlines()
    return text[0][:300] if text else "no message"


def _reported(event: dict[str, Any]) -> dict[str, str]:
    """The REPORTED_FACTS a set_fact task's result carries (non-empty values only)."""
    if event.get("event") != "runner_on_ok":
        return {}
    facts = ((event.get("event_data") or {}).get("res") or {}).get("ansible_facts") or {}
    return {k: str(facts[k]).strip() for k in REPORTED_FACTS if str(facts.get(k) or "").strip()}


def _translate(event: dict[str, Any]) -> RunEvent | None:
    kind = event.get("event", "")
    data = event.get("event_data", {}) or {}
    play = data.get("play", "")
    task = data.get("task", "")
    host = data.get("host", "")
    if kind == "playbook_on_play_start":
        return RunEvent("play", play=play)
    if kind == "playbook_on_task_start":
        return RunEvent("task", play=play, task=task)
    if kind == "runner_on_ok":
        res = data.get("res", {}) or {}
        # A debug task that reports a change carries the plan in its message
        # (e.g. "k3s would be upgraded from v1.31.4+k3s1 to v1.31.5+k3s1").
        note = str(res.get("msg", "")) if data.get("task_action", "").endswith("debug") else ""
        return RunEvent("changed" if res.get("changed") else "ok", play, task, host, note)
    if kind == "runner_on_failed":
        if data.get("ignore_errors"):
            return RunEvent("ok", play, task, host)
        return RunEvent("failed", play, task, host, _message(data.get("res", {}) or {}))
    if kind == "runner_on_unreachable":
        return RunEvent("unreachable", play, task, host, _message(data.get("res", {}) or {}))
    if kind == "runner_on_skipped":
        return RunEvent("skipped", play, task, host)
    return None


def run_playbook(
    playbook: str | Path,
    *,
    inventory: str | Path | None = None,
    extravars: dict[str, Any] | None = None,
    limit: str | None = None,
    check: bool = False,
    diff: bool = True,
    syntax_check: bool = False,
    tags: str | None = None,
    verbosity: int = 0,
    on_event: EventCallback | None = None,
    cancel: threading.Event | None = None,
    envvars: dict[str, str] | None = None,
    run_dir: Path | None = None,
) -> RunResult:
    """Run ``playbook`` (a name under the shipped ``playbooks/`` or a path) and return its result.

    A fresh private data dir is made for each run under ``<state>/runs`` (the last
    ``KEEP_RUNS`` are kept) unless ``run_dir`` is given. With ``check``, Ansible's own
    diff is shown too unless ``diff`` is false (its text lands in the run's artifacts).
    """
    import ansible_runner  # imported here: it is slow to import and only needed to run

    path = Path(playbook)
    if not path.is_absolute() and not path.exists():
        path = paths.playbook(str(playbook))
    if not path.is_file():
        raise SpecError(f"Playbook {path} does not exist.", hint="Reinstall pi-k8s.")
    if inventory is not None and not Path(inventory).exists():
        raise SpecError(
            f"Inventory {inventory} does not exist.",
            hint="Pass --inventory FILE, or make one with `pi-k8s inventory`.",
        )
    # Asked (-K) before anything is written on the controller: no password, no run dir.
    password = None if syntax_check else current_become_password()
    runs = paths.ensure_private_dir(paths.state_dir() / "runs")
    if run_dir is None:
        stamp = _dt.datetime.now().strftime("%Y%m%d-%H%M%S-%f")
        run_dir = runs / f"{stamp}-{path.stem}"
    paths.ensure_private_dir(run_dir)

    content = paths.content_dir()
    # Use the ansible-playbook installed beside this interpreter (the venv's), even
    # when the venv is not on PATH.
    bindir = str(Path(sys.executable).parent)
    # The link lives in the run's own directory: a refused run adds nothing outside runs/.
    collections = paths.link_collection(run_dir / "collections")
    env = {
        "PATH": bindir + os.pathsep + os.environ.get("PATH", ""),
        "ANSIBLE_CONFIG": str(content / "ansible.cfg"),
        "ANSIBLE_ROLES_PATH": str(paths.roles_dir()),
        # The roles call their filters as pik8s.cluster.<filter>: this content is that
        # collection (pi_k8s.paths.link_collection); then Ansible's default system path.
        "ANSIBLE_COLLECTIONS_PATH": f"{collections}{os.pathsep}/usr/share/ansible/collections",
        "ANSIBLE_FORCE_COLOR": "0",
        "ANSIBLE_NOCOLOR": "1",
        # ansible-runner turns host key checking off unless told: we never ignore host keys.
        "ANSIBLE_HOST_KEY_CHECKING": "True",
        "ANSIBLE_LOCAL_TEMP": str(run_dir / "tmp"),
        "ANSIBLE_HOME": str(run_dir / "ansible-home"),
        **fast.ansible_env(),
        **(envvars or {}),
    }
    cmdline = []
    if check:
        cmdline += ["--check", "--diff"] if diff else ["--check"]
    if syntax_check:
        cmdline.append("--syntax-check")
    if tags:
        cmdline += ["--tags", tags]
    if password:
        cmdline.append("--ask-become-pass")

    def handler(event: dict[str, Any]) -> bool:
        if on_event is not None:
            translated = _translate(event)
            if translated is not None:
                on_event(translated)
            if verbosity and event.get("stdout"):
                on_event(RunEvent("stdout", message=event["stdout"]))
        return True

    kwargs: dict[str, Any] = {
        "private_data_dir": str(run_dir),
        "playbook": str(path),
        "inventory": str(Path(inventory).resolve()) if inventory else None,
        # The roles keep controller state (the cluster token) where pi-k8s keeps its own:
        # one resolution of the state dir (paths.state_dir), passed on every run.
        "extravars": {"pi_k8s_state_dir": str(paths.state_dir().resolve()), **(extravars or {})},
        "limit": limit,
        "cmdline": " ".join(cmdline) or None,
        "verbosity": max(0, verbosity - 1) or None,
        "envvars": env,
        "quiet": True,
        "event_handler": handler,
        "cancel_callback": lambda: stop.is_set() or (cancel is not None and cancel.is_set()),
        "rotate_artifacts": 1,
        "suppress_env_files": True,
        "passwords": {BECOME_PROMPT: password} if password and not syntax_check else None,
    }
    stop = threading.Event()
    old_cwd = os.getcwd()
    try:
        thread, runner = ansible_runner.run_async(
            **{k: v for k, v in kwargs.items() if v is not None}
        )
        try:
            while thread.is_alive():
                thread.join(0.2)
        except KeyboardInterrupt:
            # Ctrl-C: ask ansible-runner to stop the playbook, wait for it, report.
            stop.set()
            thread.join()
    finally:
        os.chdir(old_cwd)
        _scrub_command_env(run_dir, set(env))
    _rotate(runs)

    hosts: dict[str, HostStats] = {}
    stats = runner.stats or {}
    for key, attr in (
        ("ok", "ok"),
        ("changed", "changed"),
        ("failures", "failed"),
        ("dark", "unreachable"),
        ("skipped", "skipped"),
    ):
        for host, count in (stats.get(key) or {}).items():
            setattr(hosts.setdefault(host, HostStats()), attr, count)
    failures = []
    changes: dict[str, list[str]] = {}
    reported: dict[str, str] = {}
    for event in runner.events:
        reported |= _reported(event)
        tr = _translate(event)
        if tr and tr.kind in {"failed", "unreachable"}:
            failures.append(TaskFailure(tr.host, tr.task, tr.message, tr.kind == "unreachable"))
        elif tr and tr.kind == "changed":
            changes.setdefault(tr.host, []).append(
                f"{tr.task} {tr.message}" if tr.message else tr.task
            )
    return RunResult(
        playbook=path.name,
        status=runner.status,
        rc=runner.rc if runner.rc is not None else 1,
        artifacts=Path(runner.config.artifact_dir),
        hosts=hosts,
        failures=failures,
        changes=changes,
        reported=reported,
    )
