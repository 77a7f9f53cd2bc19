"""The ``host_state`` module (one round trip for a role's reads) and its filters.

The module runs for real on this machine's files (a temporary directory); the filters
decide on the controller whether a change task can be skipped, so each aspect a task sets
(content, mode, owner, group, type, link target) must make ``file_is`` say "differs".
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import stat
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest
import yaml
from ansible.errors import AnsibleFilterError

from tests.local_playbook import run_local_playbook
from tests.module_run import run_module as run_named_module
from tests.state_tree import make_state_tree

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "plugins" / "filter"))

from host_state import (  # noqa: E402
    file_is,
    line_set,
    sysctl_paths,
    sysctls_differ,
    sysctls_outside,
)

# The module file (same name as the filter file), for its RACY_SECONDS.
_spec = importlib.util.spec_from_file_location(
    "host_state_module", REPO / "plugins" / "modules" / "host_state.py"
)
assert _spec is not None and _spec.loader is not None
host_state_module = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(host_state_module)


def run_module(tmp_path: Path, args: dict[str, Any], check_mode: bool = False) -> dict[str, Any]:
    return run_named_module("host_state", args, tmp_path, check_mode=check_mode)


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    return make_state_tree(tmp_path / "tree")


def test_module_describes_files_reads_text_and_runs_commands(tmp_path: Path, tree: Path) -> None:
    result = run_module(
        tmp_path,
        {
            "files": [str(tree / n) for n in ("conf", "dir", "link", "missing")],
            "sha256": [str(tree / "conf")],
            "read": [str(tree / "model"), str(tree / "missing")],
            "commands": {
                "echo": ["echo", "hi"],
                "absent": ["/nonexistent/k3s", "--version"],
                "absent_path": ["no-such-command-here"],
            },
        },
    )
    assert result["changed"] is False, result
    files = result["files"]
    me = subprocess.run(["id", "-un"], capture_output=True, text=True).stdout.strip()
    assert files[str(tree / "conf")] == {
        "exists": True,
        "type": "file",
        "mode": "0640",
        "owner": me,
        "group": files[str(tree / "conf")]["group"],
        "sha1": hashlib.sha1(b"a = 1\n").hexdigest(),
        "sha256": hashlib.sha256(b"a = 1\n").hexdigest(),
    }
    assert files[str(tree / "dir")]["type"] == "directory"
    assert files[str(tree / "dir")]["mode"] == "0750"
    assert "sha1" not in files[str(tree / "dir")]
    assert files[str(tree / "link")]["type"] == "link"
    assert files[str(tree / "link")]["target"] == "conf"
    assert files[str(tree / "missing")] == {"exists": False}
    # the device tree's trailing NUL is dropped; a missing file reads as null
    assert result["content"] == {
        str(tree / "model"): "Raspberry Pi 4 Model B Rev 1.4",
        str(tree / "missing"): None,
    }
    assert result["commands"]["echo"]["rc"] == 0
    assert result["commands"]["echo"]["stdout"] == "hi\n"
    assert result["commands"]["absent"]["rc"] == 127
    assert result["commands"]["absent_path"]["rc"] == 127


def test_module_reads_the_same_in_check_mode_and_changes_nothing(
    tmp_path: Path, tree: Path
) -> None:
    before = sorted(os.listdir(tree))
    args = {"files": [str(tree / "conf")], "read": [str(tree / "conf")]}
    assert (
        run_module(tmp_path, args, check_mode=True)["files"] == run_module(tmp_path, args)["files"]
    )
    assert sorted(os.listdir(tree)) == before


def test_module_refuses_a_command_that_is_not_an_argv_list(tmp_path: Path) -> None:
    result = run_module(tmp_path, {"commands": {"bad": "echo hi"}})
    assert result["failed"] is True
    assert "commands.bad must be a non-empty argv list" in result["msg"]


def test_more_adds_to_the_call_as_if_each_argument_named_it(tmp_path: Path, tree: Path) -> None:
    """`more` (one templated dict from a caller: roles/pi_k8s_validate adds to pi_prereq's
    read) gives the same result as the same arguments spelled out, in one call."""
    cache = tmp_path / "cache.json"
    base = {"files": [str(tree / "dir")], "commands": {"echo": ["echo", "base"]}}
    more = {
        "files": [str(tree / "link")],
        "sha256": [str(tree / "conf")],
        "read": [str(tree / "model")],
        "commands": {"echo": ["echo", "more"], "true": ["/bin/true"]},
        "cache_commands": ["true"],
        "sha256_cache": str(cache),
    }
    merged = run_module(tmp_path, {**base, "more": more})
    spelled = run_module(
        tmp_path,
        {
            "files": [str(tree / "dir"), str(tree / "link")],
            "sha256": [str(tree / "conf")],
            "read": [str(tree / "model")],
            "commands": {"echo": ["echo", "more"], "true": ["/bin/true"]},
            "cache_commands": ["true"],
            "sha256_cache": str(cache),
        },
    )
    for key in ("files", "content"):
        assert merged[key] == spelled[key], key
    assert set(merged["files"]) == {str(tree / n) for n in ("dir", "link", "conf")}
    assert "sha256" in merged["files"][str(tree / "conf")]
    assert merged["commands"]["echo"]["stdout"] == "more\n"  # more's command wins
    # more's cache and cache_commands were used: /bin/true ran once, then came from the
    # cache file more named, which the spelled-out call found
    assert merged["command_cache"] == {"hits": 0, "misses": 1}
    assert spelled["command_cache"] == {"hits": 1, "misses": 0}
    # a cache the call names itself wins over more's
    own = tmp_path / "own.json"
    again = run_module(tmp_path, {"sha256_cache": str(own), "more": more})
    assert again["command_cache"] == {"hits": 0, "misses": 1} and own.exists()


def test_more_refuses_what_it_cannot_add(tmp_path: Path) -> None:
    bad_key = run_module(tmp_path, {"more": {"gather_subset": ["all"]}})
    assert bad_key["failed"] is True and "more: unknown keys ['gather_subset']" in bad_key["msg"]
    bad_list = run_module(tmp_path, {"more": {"files": "/etc/hosts"}})
    assert bad_list["failed"] is True and "more.files must be a list of strings" in bad_list["msg"]
    bad_cmds = run_module(tmp_path, {"more": {"commands": ["true"]}})
    assert bad_cmds["failed"] is True and "more.commands must be a dict" in bad_cmds["msg"]


def _digests(data: bytes) -> tuple[str, str]:
    return hashlib.sha1(data).hexdigest(), hashlib.sha256(data).hexdigest()


def test_hash_cache_reads_a_file_again_only_when_its_stat_changed(tmp_path: Path) -> None:
    """The cache of digests is used (a forged digest with the file's stat comes back), and
    any change to the file (rewrite, touch, chmod, replacement) makes the module read it again."""
    state = tmp_path / "state"
    state.mkdir()
    big, other = state / "k3s", state / "images.tar"
    big.write_bytes(b"k3s binary " * 1000)
    other.write_bytes(b"images")
    time.sleep(host_state_module.RACY_SECONDS + 0.2)  # older than the racy window
    cache = state / "hashes.json"
    args = {"sha256": [str(big), str(other)], "sha256_cache": str(cache)}

    first = run_module(tmp_path, args)
    assert first["sha256_cache"] == {"hits": 0, "misses": 2}
    assert (first["files"][str(big)]["sha1"], first["files"][str(big)]["sha256"]) == _digests(
        big.read_bytes()
    )
    assert stat.S_IMODE(cache.stat().st_mode) == 0o600
    assert set(json.loads(cache.read_text())) == {str(big), str(other)}

    assert run_module(tmp_path, args)["sha256_cache"] == {"hits": 2, "misses": 0}

    # A digest in the cache is trusted while the stat matches: a forged one comes back.
    kept = json.loads(cache.read_text())
    kept[str(big)]["sha256"] = "0" * 64
    cache.write_text(json.dumps(kept))
    assert run_module(tmp_path, args)["files"][str(big)]["sha256"] == "0" * 64

    def changed(change: Callable[[], None]) -> dict[str, Any]:
        change()
        result = run_module(tmp_path, args)
        assert result["sha256_cache"] == {"hits": 1, "misses": 1}, result
        return result["files"][str(big)]

    # Rewritten in place with the same size: read again, the forged digest is gone.
    data = b"K3S BINARY " * 1000
    assert changed(lambda: big.write_bytes(data))["sha256"] == _digests(data)[1]
    # It was hashed just after the change, so not kept (racy): once old enough, it is
    # read and kept, then read no more.
    time.sleep(host_state_module.RACY_SECONDS + 0.2)
    assert run_module(tmp_path, args)["sha256_cache"] == {"hits": 1, "misses": 1}
    assert run_module(tmp_path, args)["sha256_cache"] == {"hits": 2, "misses": 0}
    # touch, chmod (change time only) and a replacement with the same bytes: read again.
    changed(lambda: os.utime(big))
    changed(lambda: big.chmod(0o700))
    replacement = state / "k3s.new"
    replacement.write_bytes(data)
    assert changed(lambda: os.replace(replacement, big))["sha256"] == _digests(data)[1]


def test_hash_cache_keeps_no_racy_entry_and_writes_nothing_when_told_or_in_check_mode(
    tmp_path: Path,
) -> None:
    state = tmp_path / "state"
    state.mkdir()
    fresh = state / "k3s"
    fresh.write_bytes(b"just written")
    cache = state / "hashes.json"
    args = {"sha256": [str(fresh)], "sha256_cache": str(cache)}
    # Changed within the racy window: hashed, not kept (the cache is not even written).
    assert run_module(tmp_path, args)["sha256_cache"] == {"hits": 0, "misses": 1}
    assert not cache.exists()

    time.sleep(host_state_module.RACY_SECONDS + 0.2)
    for quiet in ({**args, "sha256_cache_update": False}, args):
        check = quiet is args
        result = run_module(tmp_path, quiet, check_mode=check)
        assert result["files"][str(fresh)]["sha256"] == _digests(b"just written")[1]
        assert not cache.exists(), "check mode or sha256_cache_update=false wrote the cache"
    # A cache in a directory that does not exist: the directory is not created.
    missing = state / "no-such-dir" / "hashes.json"
    run_module(tmp_path, {"sha256": [str(fresh)], "sha256_cache": str(missing)})
    assert not missing.parent.exists()
    # An unreadable cache is no cache: every file is read, and the cache is written anew.
    cache.write_text("{not json")
    assert run_module(tmp_path, args)["sha256_cache"] == {"hits": 0, "misses": 1}
    assert set(json.loads(cache.read_text())) == {str(fresh)}


def test_cache_keeps_a_commands_output_until_its_executable_changes(tmp_path: Path) -> None:
    """A command named in cache_commands (k3s --version) runs again only when the file it
    runs changed; a failed run is not kept, and a command not named is run every time."""
    state = tmp_path / "state"
    state.mkdir()
    tool, count = state / "k3s", state / "runs"
    tool.write_text(f"#!/bin/sh\necho run >> {count}\necho 'k3s version v1'\n")
    tool.chmod(0o755)
    time.sleep(host_state_module.RACY_SECONDS + 0.2)
    cache = state / "hashes.json"
    args = {
        "commands": {"version": [str(tool), "--version"], "again": [str(tool), "x"]},
        "cache_commands": ["version"],
        "sha256_cache": str(cache),
    }

    def runs() -> int:
        return len(count.read_text().splitlines()) if count.exists() else 0

    first = run_module(tmp_path, args)
    assert first["commands"]["version"] == {"rc": 0, "stdout": "k3s version v1\n", "stderr": ""}
    assert first["command_cache"] == {"hits": 0, "misses": 1}
    assert runs() == 2
    second = run_module(tmp_path, args)
    assert second["commands"] == first["commands"]
    assert second["sha256_cache"] == {"hits": 0, "misses": 0}  # digests counted apart
    assert second["command_cache"] == {"hits": 1, "misses": 0}
    assert runs() == 3, "only the command not named in cache_commands ran again"
    # The executable replaced (same size): run again; once old enough, kept again.
    tool.write_text(f"#!/bin/sh\necho run >> {count}\necho 'k3s version v2'\n")
    assert run_module(tmp_path, args)["commands"]["version"]["stdout"] == "k3s version v2\n"
    assert runs() == 5
    time.sleep(host_state_module.RACY_SECONDS + 0.2)
    run_module(tmp_path, args)
    assert run_module(tmp_path, args)["command_cache"] == {"hits": 1, "misses": 0}
    # A failed run is not kept: it runs every time.
    tool.write_text(f"#!/bin/sh\necho run >> {count}\nexit 3\n")
    time.sleep(host_state_module.RACY_SECONDS + 0.2)
    before = runs()
    for _ in range(2):
        assert run_module(tmp_path, args)["commands"]["version"]["rc"] == 3
    assert runs() == before + 4


ENTRY = {
    "exists": True,
    "type": "file",
    "mode": "0644",
    "owner": "root",
    "group": "root",
    "sha1": hashlib.sha1(b"x = 1\n").hexdigest(),
    "sha256": hashlib.sha256(b"x = 1\n").hexdigest(),
}


def test_file_is_holds_when_every_aspect_asked_matches() -> None:
    assert file_is(ENTRY, content="x = 1\n", mode="0644", owner="root", group="root")
    assert file_is(ENTRY, sha256=ENTRY["sha256"], mode=644)  # as YAML may give a mode
    assert file_is({"exists": True, "type": "directory", "mode": "0755"}, "directory", mode="0755")
    assert file_is({"exists": True, "type": "link", "target": "k3s"}, "link", target="k3s")


@pytest.mark.parametrize(
    ("entry", "asked"),
    [
        ({"exists": False}, {"content": "x = 1\n"}),
        (ENTRY, {"content": "x = 2\n"}),
        (ENTRY, {"content": "x = 1"}),  # a newline is content too
        (ENTRY, {"sha256": "0" * 64}),
        (ENTRY, {"mode": "0600"}),
        (ENTRY, {"owner": "pi"}),
        (ENTRY, {"group": "pi"}),
        (ENTRY, {"mode": "u=rw,g=r,o=r"}),  # a symbolic mode is left to the task
        ({**ENTRY, "type": "link", "target": "conf"}, {"content": "x = 1\n"}),
        ({"exists": True, "type": "file"}, {"kind": "directory"}),
        (
            {"exists": True, "type": "link", "target": "/usr/bin/k3s"},
            {"kind": "link", "target": "k3s"},
        ),
        ({**ENTRY, "sha1": None}, {"content": "x = 1\n"}),  # unreadable
    ],
)
def test_file_is_says_differs_for_each_aspect(entry: dict[str, Any], asked: dict[str, Any]) -> None:
    assert not file_is(entry, **asked)


def test_file_is_refuses_what_is_not_a_host_state_entry() -> None:
    with pytest.raises(AnsibleFilterError, match="expects an entry of host_state"):
        file_is({"path": "/etc"})
    with pytest.raises(AnsibleFilterError, match="kind must be one of"):
        file_is(ENTRY, "socket")


def test_sysctls_differ_compares_words_and_counts_unreadable_ones() -> None:
    wanted = {"net.ipv4.ip_forward": 1, "net.ipv4.ip_local_port_range": "32768 60999", "vm.x": 0}
    paths = sysctl_paths(wanted)
    assert paths == [
        "/proc/sys/net/ipv4/ip_forward",
        "/proc/sys/net/ipv4/ip_local_port_range",
        "/proc/sys/vm/x",
    ]
    read = dict(zip(paths, ["1\n", "32768\t60999\n", None], strict=True))
    assert sysctls_differ(wanted, read) == ["vm.x"]
    assert sysctls_differ(wanted, read, ["net."]) == []
    read[paths[0]] = "0\n"
    assert sysctls_differ(wanted, read, ["net."]) == ["net.ipv4.ip_forward"]
    assert sysctls_outside(wanted, ["net."]) == ["vm.x"]
    assert sysctl_paths({"net/ipv4/conf/eth0.1/rp_filter": 1}) == [
        "/proc/sys/net/ipv4/conf/eth0.1/rp_filter"
    ]


SWAPSIZE = r"^#?\s*CONF_SWAPSIZE="
DPHYS_TEXTS = [
    "CONF_SWAPSIZE=100\nCONF_SWAPFILE=/var/swap\n",  # Raspberry Pi OS's own
    "# CONF_SWAPSIZE=\nCONF_SWAPSIZE=512\n#CONF_SWAPSIZE=2048\nCONF_MAXSWAP=2048\n",  # last match
    "CONF_SWAPFILE=/var/swap\nCONF_MAXSWAP=2048",  # no match, no newline at the end
    "",
    "CONF_SWAPFILE=/var/swap\nCONF_SWAPSIZE=0\n",  # already right: unchanged
    "CONF_SWAPFILE=/var/swap\nCONF_SWAPSIZE=0",  # right, no newline at the end: unchanged too
]


def test_line_set_leaves_what_lineinfile_leaves(tmp_path: Path) -> None:
    """pi_prereq writes dphys-swapfile's new content with host_files: it must be what the
    lineinfile task it replaced wrote, for the same regexp and line."""
    files = []
    for number, text in enumerate(DPHYS_TEXTS):
        path = tmp_path / f"dphys-{number}"
        path.write_text(text)
        files.append(str(path))
    play = [
        {
            "hosts": "localhost",
            "connection": "local",
            "gather_facts": False,
            "tasks": [
                {
                    "ansible.builtin.lineinfile": {
                        "path": "{{ item }}",
                        "regexp": SWAPSIZE,
                        "line": "CONF_SWAPSIZE=0",
                    },
                    "loop": files,
                }
            ],
        }
    ]
    proc = run_local_playbook(play, tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    for path, text in zip(files, DPHYS_TEXTS, strict=True):
        assert line_set(text, SWAPSIZE, "CONF_SWAPSIZE=0") == Path(path).read_text(), text


def test_line_set_refuses_a_file_that_was_not_read() -> None:
    with pytest.raises(AnsibleFilterError, match="line_set expects the text"):
        line_set(None, SWAPSIZE, "CONF_SWAPSIZE=0")


# The subset pi_prereq gathers (its host_kind.yml with setup, its preflight with host_state).
SUBSET = yaml.safe_load((REPO / "roles/pi_prereq/vars/main.yml").read_text())[
    "pi_prereq_fact_subset"
]


def _unordered(value: Any) -> Any:
    """Facts with lists built from sets (interfaces, virtualization techs): their order
    changes from one gathering to the next."""
    if isinstance(value, dict):
        return {k: _unordered(v) for k, v in value.items()}
    if isinstance(value, list):
        items = [_unordered(v) for v in value]
        return sorted(items, key=json.dumps)
    return value


def gather_both(
    tmp_path: Path, subset: list[str], more: Sequence[dict[str, Any]] = (), keep: str = ""
) -> dict[str, Any]:
    """host_state's facts (``read``) and setup's (``setup``) for ``subset`` on this machine,
    with ``more`` tasks after host_state's and ``keep``'s variables in the result too."""
    out = tmp_path / "facts.json"
    content = (
        "{{ {'read': read.ansible_facts, 'setup': setup.ansible_facts" + keep + "} | to_json }}"
    )
    play = [
        {
            "hosts": "localhost",
            "connection": "local",
            "gather_facts": False,
            "tasks": [
                {"host_state": {"gather_subset": subset}, "register": "read"},
                *more,
                {"ansible.builtin.setup": {"gather_subset": subset}, "register": "setup"},
                {"ansible.builtin.copy": {"dest": str(out), "content": content}},
            ],
        }
    ]
    proc = run_local_playbook(play, tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return json.loads(out.read_text())


def test_module_gathers_the_facts_setup_gathers_in_the_same_call(tmp_path: Path) -> None:
    """pi_prereq's preflight gathers its facts in its host_state call (one round trip, not
    setup's and then its own): they must be setup's facts for the same subset, and become
    the host's facts as setup's do."""
    known = (
        "{{ ansible_facts['architecture'] ~ ' ' ~ ansible_facts['virtualization_type'] ~ ' '"
        " ~ ansible_facts['distribution'] }}"
    )
    more = [
        {"ansible.builtin.set_fact": {"known": known}},
        {"host_state": {}, "register": "bare"},
    ]
    got = gather_both(tmp_path, SUBSET, more, ", 'known': known, 'bare': bare")
    assert _unordered(got["read"]) == _unordered(got["setup"])
    facts = got["setup"]
    assert got["known"] == (
        f"{facts['ansible_architecture']} {facts['ansible_virtualization_type']}"
        f" {facts['ansible_distribution']}"
    )
    assert "ansible_facts" not in got["bare"]  # no subset, no facts (and no gathering)


# Imports the module file in a fresh interpreter, gathers ``subset`` with it and reports
# which fact modules that imported.
_IMPORTS = """
import importlib.util, json, sys
spec = importlib.util.spec_from_file_location("m", sys.argv[1])
m = importlib.util.module_from_spec(spec); spec.loader.exec_module(m)
classes = m.fact_collectors(json.loads(sys.argv[2]))[3]
modules = sorted(n for n in sys.modules if n.startswith(m._FACTS))
from ansible.module_utils.facts import ansible_facts, default_collectors  # as setup imports
print(json.dumps({"classes": [c.__name__ for c in classes], "modules": modules,
                  "later": callable(ansible_facts) and len(default_collectors.collectors)}))
"""


def test_pi_prerequisites_subset_imports_only_its_own_collectors() -> None:
    """Gathering pi_prereq's subset must not import the collectors of other subsets and
    platforms (each run compiles every module it imports: docs/performance.md, round
    seventeen): the package's __init__ would import them all."""
    proc = subprocess.run(
        [
            sys.executable,
            "-c",
            _IMPORTS,
            str(REPO / "plugins/modules/host_state.py"),
            json.dumps(SUBSET),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    got = json.loads(proc.stdout)
    assert got["classes"] == [
        "PlatformFactCollector",
        "DistributionFactCollector",
        "PkgMgrFactCollector",
        "ServiceMgrFactCollector",
        "LinuxVirtualCollector",
        "LinuxNetworkCollector",
    ]
    facts = "ansible.module_utils.facts"
    assert f"{facts}.default_collectors" not in got["modules"]
    assert not [name for name in got["modules"] if ".hardware" in name or "bsd" in name]
    assert f"{facts}.network.linux" in got["modules"]
    # the package it stood in for unrun is taken out again (a later import runs it)
    assert facts not in got["modules"]
    assert got["later"] > 20


@pytest.mark.parametrize(
    "subset",
    [
        ["!all", "dns"],  # the minimal subset comes too: setup's own collectors
        ["!all", "!min", "dns"],  # a subset pi-k8s does not gather
        ["network"],
        ["!min"],
    ],
)
def test_other_subsets_are_gathered_with_all_of_setups_collectors(subset: list[str]) -> None:
    assert host_state_module._named_collectors(subset) is None


def test_another_platform_is_gathered_with_all_of_setups_collectors(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("platform.system", lambda: "FreeBSD")
    assert host_state_module._named_collectors(SUBSET) is None


@pytest.mark.parametrize("subset", [["!all", "!min", "platform"], ["!all", "dns"]])
def test_module_gathers_setups_facts_for_any_subset(tmp_path: Path, subset: list[str]) -> None:
    """Only pi-k8s's own subsets take the short way; others (here with the minimal subset)
    are gathered by all of setup's collectors, and either way the facts are setup's."""
    got = gather_both(tmp_path, subset)
    volatile = ("ansible_date_time", "ansible_env")  # the clock, and the module's environment
    read, setup = (
        {k: v for k, v in got[n].items() if k not in volatile} for n in ("read", "setup")
    )
    assert _unordered(read) == _unordered(setup)
    assert "ansible_system" in read


def test_module_reads_the_clocks_synchronisation_as_timedated_does(tmp_path: Path) -> None:
    """pi_prereq asks whether the clock is synchronised without starting timedated: the
    kernel's maximum error below 16 s, as timedated's NTPSynchronized (systemd's
    ntp_synced()); test_verify_testbed.py compares it with timedatectl on a testbed host,
    the VM tests on a clock that synchronises."""
    clock = run_module(tmp_path, {"clock": True})["clock"]
    assert isinstance(clock["maxerror_us"], int) and clock["maxerror_us"] >= 0
    assert clock["synchronized"] is (clock["maxerror_us"] < 16_000_000)
    assert "clock" not in run_module(tmp_path, {})


def test_module_refuses_an_unknown_fact_subset(tmp_path: Path) -> None:
    result = run_module(tmp_path, {"gather_subset": ["!all", "no_such_subset"]})
    assert result["failed"] is True
    assert "no_such_subset" in result["msg"]
