#!/usr/bin/python
"""Record, once, what a host looked like before pi-k8s changed it (read by the revert)."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: pi_prereq_record
short_description: Write the host's state before pi-k8s changes it, once.
description:
  - On first contact, reads each path pi-k8s is about to write or edit (whether it exists,
    its type, mode, owner, link target and, for a regular file, its content), each sysctl's
    running value and each systemd unit's enabled and active state, and writes them as JSON
    to I(path) (mode 0600, its directory created 0755).
  - When I(path) already exists nothing is read or written; the record is returned as it is.
    So the record always holds the state before the first run, and a second run reports no
    change.
  - Supports check mode (reports that it would write the record, writes nothing).
options:
  path:
    description: The record file.
    type: path
    required: true
  files:
    description: Paths to record (files, directories or links).
    type: list
    elements: path
    default: []
  sysctls:
    description: Sysctl names (dotted) whose running value is recorded (null when unreadable).
    type: list
    elements: str
    default: []
  units:
    description: systemd units whose C(systemctl is-enabled) and C(is-active) are recorded.
    type: list
    elements: str
    default: []
  marks:
    description:
      - Path to regular expression. A file at the path whose content matches was written by
        pi-k8s before this record was taken (a pi-k8s older than the record prepared the
        host); such paths are listed in the record's C(pi_k8s_before), and a revert cannot
        trust the record then.
    type: dict
    default: {}
  extra:
    description: Other facts to keep in the record as given (e.g. which cmdline.txt is the real one).
    type: dict
    default: {}
"""

RETURN = r"""
record:
  description: The record (as written now, or as found).
  type: dict
  returned: always
"""

import base64
import grp
import json
import os
import pwd
import re
import stat

from ansible.module_utils.basic import AnsibleModule

VERSION = 1
MAX_CONTENT = 1024 * 1024  # files pi-k8s edits are small; a bigger one is noted, not kept


def _owner(uid, getter):
    try:
        return getter(uid)[0]
    except KeyError:
        return str(uid)


def _file(path):
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return {"exists": False}
    entry = {
        "exists": True,
        "mode": "%04o" % stat.S_IMODE(st.st_mode),
        "owner": _owner(st.st_uid, pwd.getpwuid),
        "group": _owner(st.st_gid, grp.getgrgid),
    }
    if stat.S_ISLNK(st.st_mode):
        entry.update(type="link", link=os.readlink(path))
    elif stat.S_ISDIR(st.st_mode):
        entry["type"] = "directory"
    elif stat.S_ISREG(st.st_mode):
        entry["type"] = "file"
        if st.st_size <= MAX_CONTENT:
            with open(path, "rb") as handle:
                entry["content"] = base64.b64encode(handle.read()).decode("ascii")
    else:
        entry["type"] = "other"
    return entry


def _sysctl(name):
    try:
        with open("/proc/sys/" + name.replace(".", "/"), encoding="utf-8") as handle:
            return " ".join(handle.read().split())
    except OSError:
        return None


def _marked(files, marks):
    found = []
    for path, pattern in marks.items():
        content = files.get(path, {}).get("content")
        if content is None:
            continue
        if re.search(pattern, base64.b64decode(content).decode("utf-8", "replace")):
            found.append(path)
    return sorted(found)


def _unit(module, name):
    systemctl = module.get_bin_path("systemctl")
    if systemctl is None:
        return {"enabled": "", "active": ""}
    states = {}
    for key, verb in (("enabled", "is-enabled"), ("active", "is-active")):
        _rc, out, _err = module.run_command([systemctl, verb, name])
        states[key] = out.strip()
    return states


def main():
    module = AnsibleModule(
        argument_spec={
            "path": {"type": "path", "required": True},
            "files": {"type": "list", "elements": "path", "default": []},
            "sysctls": {"type": "list", "elements": "str", "default": []},
            "units": {"type": "list", "elements": "str", "default": []},
            "marks": {"type": "dict", "default": {}},
            "extra": {"type": "dict", "default": {}},
        },
        supports_check_mode=True,
    )
    params = module.params
    path = params["path"]
    if os.path.exists(path):
        try:
            with open(path, encoding="utf-8") as handle:
                record = json.load(handle)
        except (OSError, ValueError) as exc:
            module.fail_json(msg=f"Cannot read the record {path}: {exc}.")
        module.exit_json(changed=False, record=record)
    files = {p: _file(p) for p in params["files"]}
    record = {
        "version": VERSION,
        "files": files,
        "pi_k8s_before": _marked(files, params["marks"]),
        "sysctls": {s: _sysctl(s) for s in params["sysctls"]},
        "units": {u: _unit(module, u) for u in params["units"]},
        **params["extra"],
    }
    if not module.check_mode:
        directory = os.path.dirname(path)
        if not os.path.isdir(directory):
            os.makedirs(directory, mode=0o755)
        tmp = path + ".tmp"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(record, handle, indent=1, sort_keys=True)
            handle.write("\n")
        os.rename(tmp, path)
    module.exit_json(changed=True, record=record)


if __name__ == "__main__":
    main()
