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
  - Never changes anything; supports check mode (it reads the same in check mode).
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
    description: Regular files whose sha256 is added to their C(files) entry (C(sha256)).
    type: list
    elements: path
    default: []
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
ansible_facts:
  description: The facts of I(gather_subset), as M(ansible.builtin.setup) returns them.
  type: dict
  returned: when I(gather_subset) is not empty
"""

import grp
import hashlib
import os
import pwd
import stat

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.facts import ansible_collector, default_collectors
from ansible.module_utils.facts.collector import (
    CollectorNotFoundError,
    CycleFoundInFactDeps,
    UnresolvedFactDep,
)
from ansible.module_utils.facts.namespace import PrefixFactNamespace

_KINDS = ((stat.S_ISREG, "file"), (stat.S_ISDIR, "directory"), (stat.S_ISLNK, "link"))


def _name(lookup, ident):
    try:
        return lookup(ident)[0]
    except KeyError:
        return str(ident)


def _digest(path, algorithm):
    digest = hashlib.new(algorithm)
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def describe(path, sha256=False):
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
            entry["sha1"] = _digest(path, "sha1")
            if sha256:
                entry["sha256"] = _digest(path, "sha256")
        except OSError:
            entry["sha1"] = None
    return entry


def read_text(path):
    try:
        with open(path, "rb") as handle:
            return handle.read().replace(b"\0", b"").decode("utf-8", "replace")
    except OSError:
        return None


# What M(ansible.builtin.setup) always adds unless told not to ("!min" leaves it out).
_MINIMAL_SUBSET = frozenset(
    ["apparmor", "caps", "cmdline", "date_time", "distribution", "dns", "env", "fips", "local",
     "lsb", "pkg_mgr", "platform", "python", "selinux", "service_mgr", "ssh_pub_keys", "user"]
)


def gather_facts(module, subset):
    """The facts of ``subset``, gathered as ansible.builtin.setup gathers them."""
    try:
        collector = ansible_collector.get_ansible_collector(
            all_collector_classes=default_collectors.collectors,
            namespace=PrefixFactNamespace(namespace_name="ansible", prefix="ansible_"),
            filter_spec=[],
            gather_subset=subset,
            gather_timeout=10,
            minimal_gather_subset=_MINIMAL_SUBSET,
        )
    except (TypeError, CollectorNotFoundError, CycleFoundInFactDeps, UnresolvedFactDep) as err:
        # a subset name that does not exist, reported as setup reports it
        module.fail_json(msg=f"gather_subset {subset!r}: {err}")
    return collector.collect(module=module)


def main():
    module = AnsibleModule(
        argument_spec={
            "files": {"type": "list", "elements": "path", "default": []},
            "sha256": {"type": "list", "elements": "path", "default": []},
            "read": {"type": "list", "elements": "path", "default": []},
            "commands": {"type": "dict", "default": {}},
            "gather_subset": {"type": "list", "elements": "str", "default": []},
        },
        supports_check_mode=True,
    )
    params = module.params
    hashed = set(params["sha256"])
    files = {p: describe(p, p in hashed) for p in list(params["files"]) + sorted(hashed)}
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
        rc, out, err = module.run_command(argv, check_rc=False)
        commands[name] = {"rc": rc, "stdout": out, "stderr": err}
    result = {"changed": False, "files": files, "content": content, "commands": commands}
    if params["gather_subset"]:
        result["ansible_facts"] = gather_facts(module, params["gather_subset"])
    module.exit_json(**result)


if __name__ == "__main__":
    main()
