#!/usr/bin/python
"""Read, in one round trip, the state a role decides on: files, small contents, commands."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: host_state
short_description: Read what a role needs to decide, in one call; change nothing.
description:
  - A role's no-op run used to read its host one C(stat), C(slurp) or C(command) at a time,
    one round trip each. This module reads all of them at once and returns them, so the
    role's change tasks run only where what it read differs from what it wants (compared
    on the controller, see the C(pik8s.cluster.file_is) filter). Every change stays a
    normal Ansible task, so check mode, C(--diff) and handlers work as before.
  - Changes nothing it reads; supports check mode (it reads the same in check mode). The one
    file it may write is its own cache of digests (I(sha256_cache)), never in check mode.
options:
  files:
    description:
      - Paths to describe, without following a final symlink. Each gets C(exists), and when
        it exists C(type) (file, directory, link or other), C(mode) (four octal digits),
        C(owner), C(group), C(target) for a link and C(sha1) for a regular file.
    type: list
    elements: path
    default: []
  sha256:
    description:
      - Regular files whose sha256 is added to their C(files) entry (C(sha256)). Each is read
        once for both its C(sha1) and its C(sha256).
    type: list
    elements: path
    default: []
  sha256_cache:
    description:
      - A JSON file on the host that keeps the digests of the I(sha256) files by their
        C(stat) (device, inode, size, modification and change times, to the nanosecond), as
        git's index keeps its files' hashes. A file whose C(stat) matches its entry is not
        read again; any write, replacement, C(touch) or C(chmod) changes its change time,
        which no system call sets (only root turning the clock back could forge it), so the
        file is read and hashed again.
      - A file changed less than 2 seconds before it was hashed is not kept (a change in
        the same clock tick would leave its times as they were, as with git's "racy" files).
      - Empty (the default) keeps no cache. The k3s binary (about 60 MB) and k3s's airgap
        image archives (hundreds of MB) are read on every run without it.
    type: path
    default: ""
  sha256_cache_update:
    description:
      - Write the cache when an entry is new or differs (atomically, mode 0600), and keep
        only the entries of this call's I(sha256) files and I(cache_commands). Only where
        the cache's directory exists; it is never created. Pass C(false) in check mode to
        write nothing.
    type: bool
    default: true
  read:
    description:
      - Small text files returned whole in C(content) (null when missing or unreadable).
        NUL characters are dropped (device tree strings end with one).
    type: list
    elements: path
    default: []
  commands:
    description:
      - Read-only commands to run, by name, each an argv list (no shell). Each gets C(rc),
        C(stdout) and C(stderr) in C(commands); a command that is not installed gets
        rc 127.
    type: dict
    default: {}
  cache_commands:
    description:
      - Names of I(commands) whose output depends only on the executable they run (such
        as C(k3s --version)). Their rc, stdout and stderr are kept in I(sha256_cache) by
        the executable's C(stat) and the argv, the same way as the digests, and the command
        is run again only when that file changed. Only a run that exited 0 is kept.
    type: list
    elements: str
    default: []
  more:
    description:
      - More of this call's arguments in one dict, for a caller that adds to a role's read.
        Its C(files), C(sha256), C(read) and C(cache_commands) lists are added to this
        call's, its C(commands) to this call's I(commands) (a name given in both is
        I(more)'s), and its C(sha256_cache) is used when this call names none. The caller's
        additions are then templated once on the controller, not once per argument that
        names them (docs/performance.md, round thirteen).
    type: dict
    default: {}
  clock:
    description:
      - Read whether the system clock is synchronised, as systemd-timedated answers
        C(timedatectl show --property=NTPSynchronized). That is, the kernel's maximum error
        (C(adjtimex), read only) is below 16 seconds (systemd's C(ntp_synced) in
        src/basic/time-util.c). Without starting timedated over D-Bus, which costs each
        host about 0.1 s of CPU in a run (docs/performance.md, round seventeen).
    type: bool
    default: false
  gather_subset:
    description:
      - Fact subsets to gather in the same call, as M(ansible.builtin.setup)'s
        I(gather_subset) (for example C([!all, !min, platform, network])). Empty gathers
        none. The facts are returned as C(ansible_facts), so they become the host's facts
        as with M(ansible.builtin.setup), in one round trip instead of two.
    type: list
    elements: str
    default: []
"""

RETURN = r"""
files:
  description: Path → its description (see I(files)).
  type: dict
  returned: always
content:
  description: Path → its text, or null.
  type: dict
  returned: always
commands:
  description: Name → rc, stdout and stderr.
  type: dict
  returned: always
sha256_cache:
  description:
    - How many I(sha256) files had their digests from the cache (C(hits)), and how many were
      read (C(misses)).
  type: dict
  returned: always
clock:
  description:
    - With I(clock), C(synchronized) (true, false, or null when the kernel could not be
      asked) and C(maxerror_us), the kernel's maximum error in microseconds.
  type: dict
  returned: when I(clock) is true
command_cache:
  description:
    - How many I(cache_commands) had their output from the cache (C(hits)), and how many
      were run (C(misses)).
  type: dict
  returned: always
ansible_facts:
  description: The facts of I(gather_subset), as M(ansible.builtin.setup) returns them.
  type: dict
  returned: when I(gather_subset) is not empty
"""

import grp
import hashlib
import json
import os
import pwd
import stat
import tempfile
import time

from ansible.module_utils.basic import AnsibleModule

_KINDS = ((stat.S_ISREG, "file"), (stat.S_ISDIR, "directory"), (stat.S_ISLNK, "link"))


def _name(lookup, ident):
    try:
        return lookup(ident)[0]
    except KeyError:
        return str(ident)


def _digests(path, algorithms):
    """The hex digests of ``path`` for each algorithm, in one read of the file."""
    digests = [hashlib.new(algorithm) for algorithm in algorithms]
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            for digest in digests:
                digest.update(block)
    return [digest.hexdigest() for digest in digests]


# A file changed this recently when it was hashed is not kept: a change within the same
# clock tick would leave its times unchanged (git's "racy" index entries).
RACY_SECONDS = 2.0


def _stat_key(st):
    return [st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns]


class HashCache:
    """The digests of large files, kept on the host by their stat, read only when it changed."""

    def __init__(self, path):
        self.path = path
        self.entries = {}
        self.kept = {}
        self.hits = 0
        self.misses = 0
        self.command_hits = 0
        self.command_misses = 0
        if path:
            try:
                with open(path) as handle:
                    loaded = json.load(handle)
                if isinstance(loaded, dict):
                    self.entries = loaded
            except (OSError, ValueError):
                pass  # no cache yet, or an unreadable one: every file is read

    def digests(self, path, st):
        """sha1 and sha256 of ``path`` (``st`` its lstat), from the cache when its stat matches."""
        key = _stat_key(st)
        entry = self.entries.get(path)
        cached = isinstance(entry, dict) and entry.get("stat") == key
        if cached and entry.get("sha1") and entry.get("sha256"):
            self.hits += 1
            self.kept[path] = entry
            return entry["sha1"], entry["sha256"]
        self.misses += 1
        sha1, sha256 = _digests(path, ("sha1", "sha256"))
        if self.path and time.time() - st.st_ctime >= RACY_SECONDS:
            self.kept[path] = {"stat": key, "sha1": sha1, "sha256": sha256}
        return sha1, sha256

    def command(self, argv, run):
        """rc, stdout, stderr of ``argv``, from the cache while ``argv[0]`` is the same file."""
        key = "command:" + json.dumps(argv)
        try:
            st = os.stat(argv[0])
        except OSError:
            return run()
        stat_key = _stat_key(st)
        entry = self.entries.get(key)
        if isinstance(entry, dict) and entry.get("stat") == stat_key and "stdout" in entry:
            self.command_hits += 1
            self.kept[key] = entry
            return entry["rc"], entry["stdout"], entry.get("stderr", "")
        self.command_misses += 1
        rc, out, err = run()
        if self.path and rc == 0 and time.time() - st.st_ctime >= RACY_SECONDS:
            self.kept[key] = {"stat": stat_key, "rc": rc, "stdout": out, "stderr": err}
        return rc, out, err

    def save(self):
        """Write what this call hashed when it differs from what was read; never a new directory."""
        if not self.path or self.kept == self.entries:
            return
        directory = os.path.dirname(self.path) or "."
        if not os.path.isdir(directory):
            return
        fd, tmp = tempfile.mkstemp(prefix=".host_state-", dir=directory)
        try:
            with os.fdopen(fd, "w") as handle:
                json.dump(self.kept, handle, sort_keys=True)
            os.chmod(tmp, 0o600)
            os.replace(tmp, self.path)
        except OSError:
            try:
                os.unlink(tmp)
            except OSError:
                pass


def describe(path, sha256=False, cache=None):
    try:
        st = os.lstat(path)
    except OSError:
        return {"exists": False}
    kind = next((name for test, name in _KINDS if test(st.st_mode)), "other")
    entry = {
        "exists": True,
        "type": kind,
        "mode": "%04o" % stat.S_IMODE(st.st_mode),
        "owner": _name(pwd.getpwuid, st.st_uid),
        "group": _name(grp.getgrgid, st.st_gid),
    }
    if kind == "link":
        entry["target"] = os.readlink(path)
    if kind == "file":
        try:
            if sha256:
                entry["sha1"], entry["sha256"] = (cache or HashCache("")).digests(path, st)
            else:
                (entry["sha1"],) = _digests(path, ("sha1",))
        except OSError:
            entry["sha1"] = None
    return entry


def read_text(path):
    try:
        with open(path, "rb") as handle:
            return handle.read().replace(b"\0", b"").decode("utf-8", "replace")
    except OSError:
        return None


# systemd-timedated's NTPSynchronized is true while the kernel's maximum error is below this.
MAXERROR_SYNCED_US = 16_000_000


def clock_state():
    """Whether the clock is synchronised, as timedated says: adjtimex's maxerror < 16 s."""
    # pylint: disable=import-outside-toplevel
    import ctypes

    class Timex(ctypes.Structure):  # struct timex, up to maxerror, then room for the rest
        _fields_ = [
            ("modes", ctypes.c_int),
            ("offset", ctypes.c_long),
            ("freq", ctypes.c_long),
            ("maxerror", ctypes.c_long),
            ("rest", ctypes.c_char * 256),
        ]

    timex = Timex()  # modes 0: read, change nothing
    try:
        adjtimex = ctypes.CDLL(None, use_errno=True).adjtimex
        if adjtimex(ctypes.byref(timex)) < 0:
            return {"synchronized": None, "maxerror_us": None}
    except (AttributeError, OSError):
        return {"synchronized": None, "maxerror_us": None}
    if not 0 <= timex.maxerror <= MAXERROR_SYNCED_US:
        # The kernel keeps maxerror within 0..16 s: another value means this layout of
        # struct timex is not the kernel's; say unknown (pi_prereq then waits, as unsynced).
        return {"synchronized": None, "maxerror_us": None}
    return {"synchronized": timex.maxerror < MAXERROR_SYNCED_US, "maxerror_us": timex.maxerror}


# What M(ansible.builtin.setup) always adds unless told not to ("!min" leaves it out).
_MINIMAL_SUBSET = frozenset(
    ["apparmor", "caps", "cmdline", "date_time", "distribution", "dns", "env", "fips", "local",
     "lsb", "pkg_mgr", "platform", "python", "selinux", "service_mgr", "ssh_pub_keys", "user"]
)


# The collectors of the subsets pi-k8s gathers on its hosts (Linux), by subset name: module
# under ansible.module_utils.facts, class. Gathering only these imports only their modules.
_LINUX_COLLECTORS = {
    "platform": ("system.platform", "PlatformFactCollector"),
    "distribution": ("system.distribution", "DistributionFactCollector"),
    "pkg_mgr": ("system.pkg_mgr", "PkgMgrFactCollector"),
    "service_mgr": ("system.service_mgr", "ServiceMgrFactCollector"),
    "virtual": ("virtual.linux", "LinuxVirtualCollector"),
    "network": ("network.linux", "LinuxNetworkCollector"),
}
_FACTS = "ansible.module_utils.facts"


def _named_collectors(subset):
    """(module under _FACTS, class) of each collector of ``subset`` when it leaves out the
    minimal subset ("!min") and names only subsets of _LINUX_COLLECTORS, on Linux; else
    None (gathered as setup gathers, with all of its collectors)."""
    import platform  # pylint: disable=import-outside-toplevel

    names = [item for item in subset if item not in ("!all", "!min")]
    known = "!min" in subset and names and set(names) <= set(_LINUX_COLLECTORS)
    if not known or platform.system() != "Linux":
        return None
    return [_LINUX_COLLECTORS[name] for name in names]


def fact_collectors(subset):
    """``get_ansible_collector``, the errors it raises for a bad subset, the namespace class
    and the collector classes for ``subset``: only its own when it is pi-k8s's."""
    # Imported here, not at the top: Ansible ships a module's sources in a zip, so each run
    # compiles every module it imports, and the fact collectors are more than half of that
    # (docs/performance.md, round ten). A call that gathers no facts does not pay for them.
    # The package's __init__ imports every collector of every platform (its compat
    # functions): for pi-k8s's own subsets the package stands in sys.modules unrun while
    # what is needed is imported, then is taken out again (round seventeen).
    # pylint: disable=import-outside-toplevel
    import importlib
    import importlib.util
    import sys

    named = _named_collectors(subset)
    unrun = None
    if named is not None and _FACTS not in sys.modules:
        unrun = importlib.util.module_from_spec(importlib.util.find_spec(_FACTS))
        sys.modules[_FACTS] = unrun
    try:
        from ansible.module_utils.facts.ansible_collector import get_ansible_collector
        from ansible.module_utils.facts.collector import (
            CollectorNotFoundError,
            CycleFoundInFactDeps,
            UnresolvedFactDep,
        )
        from ansible.module_utils.facts.namespace import PrefixFactNamespace

        if named is None:
            from ansible.module_utils.facts import default_collectors

            classes = default_collectors.collectors
        else:
            classes = [
                getattr(importlib.import_module(f"{_FACTS}.{mod}"), cls) for mod, cls in named
            ]
    finally:
        if unrun is not None and sys.modules.get(_FACTS) is unrun:
            del sys.modules[_FACTS]
    errors = (TypeError, CollectorNotFoundError, CycleFoundInFactDeps, UnresolvedFactDep)
    return get_ansible_collector, errors, PrefixFactNamespace, classes


def gather_facts(module, subset):
    """The facts of ``subset``, gathered as ansible.builtin.setup gathers them."""
    get_ansible_collector, errors, namespace, classes = fact_collectors(subset)
    try:
        collector = get_ansible_collector(
            all_collector_classes=classes,
            namespace=namespace(namespace_name="ansible", prefix="ansible_"),
            filter_spec=[],
            gather_subset=subset,
            gather_timeout=10,
            minimal_gather_subset=_MINIMAL_SUBSET,
        )
    except errors as err:
        # a subset name that does not exist, reported as setup reports it
        module.fail_json(msg=f"gather_subset {subset!r}: {err}")
    return collector.collect(module=module)


_MORE_LISTS = ("files", "sha256", "read", "cache_commands")


def with_more(module, params):
    """``params`` with ``more``'s lists added, its commands merged, its cache as a default."""
    more = params["more"] or {}
    unknown = sorted(set(more) - set(_MORE_LISTS) - {"commands", "sha256_cache"})
    if unknown:
        module.fail_json(
            msg=f"more: unknown keys {unknown}; it takes {sorted(_MORE_LISTS)}, commands and sha256_cache."
        )
    merged = dict(params)
    for key in _MORE_LISTS:
        extra = more.get(key) or []
        if not isinstance(extra, list) or not all(isinstance(item, str) for item in extra):
            module.fail_json(msg=f"more.{key} must be a list of strings, got {extra!r}.")
        merged[key] = list(params[key]) + extra
    commands = more.get("commands") or {}
    if not isinstance(commands, dict):
        module.fail_json(msg=f"more.commands must be a dict of argv lists, got {commands!r}.")
    merged["commands"] = {**params["commands"], **commands}
    merged["sha256_cache"] = params["sha256_cache"] or str(more.get("sha256_cache") or "")
    return merged


def main():
    module = AnsibleModule(
        argument_spec={
            "files": {"type": "list", "elements": "path", "default": []},
            "sha256": {"type": "list", "elements": "path", "default": []},
            "sha256_cache": {"type": "path", "default": ""},
            "sha256_cache_update": {"type": "bool", "default": True},
            "read": {"type": "list", "elements": "path", "default": []},
            "commands": {"type": "dict", "default": {}},
            "cache_commands": {"type": "list", "elements": "str", "default": []},
            "gather_subset": {"type": "list", "elements": "str", "default": []},
            "clock": {"type": "bool", "default": False},
            "more": {"type": "dict", "default": {}},
        },
        supports_check_mode=True,
    )
    params = with_more(module, module.params)
    hashed = set(params["sha256"])
    cache = HashCache(params["sha256_cache"])
    paths = dict.fromkeys(list(params["files"]) + sorted(hashed))  # each path read once
    files = {p: describe(p, p in hashed, cache) for p in paths}
    content = {p: read_text(p) for p in params["read"]}
    commands = {}
    for name, argv in params["commands"].items():
        if not isinstance(argv, list) or not argv:
            module.fail_json(msg=f"commands.{name} must be a non-empty argv list, got {argv!r}.")
        argv = [str(arg) for arg in argv]
        if os.path.isabs(argv[0]):
            found = os.access(argv[0], os.X_OK)
        else:
            found = module.get_bin_path(argv[0])
        if not found:
            commands[name] = {"rc": 127, "stdout": "", "stderr": f"{argv[0]}: not found"}
            continue
        def run(argv=argv):
            return module.run_command(argv, check_rc=False)

        if name in params["cache_commands"] and os.path.isabs(argv[0]):
            rc, out, err = cache.command(argv, run)
        else:
            rc, out, err = run()
        commands[name] = {"rc": rc, "stdout": out, "stderr": err}
    if params["sha256_cache_update"] and not module.check_mode:
        cache.save()
    result = {
        "changed": False,
        "files": files,
        "content": content,
        "commands": commands,
        "sha256_cache": {"hits": cache.hits, "misses": cache.misses},
        "command_cache": {"hits": cache.command_hits, "misses": cache.command_misses},
    }
    if params["clock"]:
        result["clock"] = clock_state()
    if params["gather_subset"]:
        result["ansible_facts"] = gather_facts(module, params["gather_subset"])
    module.exit_json(**result)


if __name__ == "__main__":
    main()
