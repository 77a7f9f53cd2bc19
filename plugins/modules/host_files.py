#!/usr/bin/python
"""Ensure a few small files, directories and symlinks are as given, in one round trip."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: host_files
short_description: Ensure small files, directories and symlinks are as given, in one call.
description:
  - A role that writes several small files (a unit, its configuration, a helper script, a
    link) used to pay one C(template), C(copy) or C(file) task, and so one or more round
    trips, for each. This module takes them all at once and changes only the entries that
    differ, in the order given, so a directory listed before a file in it is made first.
  - A file is written to a temporary file beside it, given its mode and owner, then renamed
    over the old one, so a reader sees the old or the new content, never half of it.
  - Supports check mode (reports what would change, changes nothing) and C(--diff) (a
    content diff for each file, the state or mode for the rest).
  - Not for secrets. The content is in the module's arguments and in the diff, so the roles
    write the token and registry credentials with their own C(no_log) tasks.
options:
  entries:
    description: What to ensure, in order.
    type: list
    elements: dict
    required: true
    suboptions:
      path:
        description: Absolute path on the host.
        type: path
        required: true
      state:
        description: C(file) (I(content)), C(directory), or C(link) (to I(src)).
        type: str
        choices: [file, directory, link]
        default: file
      content:
        description: The whole text of a file (C(state=file)).
        type: str
      src:
        description: Where a link points (C(state=link)), as given (a relative target stays relative).
        type: str
      mode:
        description: Octal mode, as a string (C("0644")); kept as found when omitted. Not for links.
        type: str
      owner:
        description: Owner; kept as found when omitted.
        type: str
      group:
        description: Group; kept as found when omitted.
        type: str
"""

RETURN = r"""
paths:
  description: The paths this call changed (or would change in check mode), in order.
  type: list
  elements: str
  returned: always
"""

import grp
import os
import pwd
import stat
import tempfile

from ansible.module_utils.basic import AnsibleModule


class EntryError(Exception):
    """An entry this module refuses to change (a path of another kind, a missing parent)."""


def _ids(entry):
    uid = gid = -1
    if entry["owner"] is not None:
        try:
            uid = pwd.getpwnam(entry["owner"]).pw_uid
        except KeyError as exc:
            raise EntryError(f"{entry['path']}: no user {entry['owner']!r} on this host.") from exc
    if entry["group"] is not None:
        try:
            gid = grp.getgrnam(entry["group"]).gr_gid
        except KeyError as exc:
            raise EntryError(f"{entry['path']}: no group {entry['group']!r} on this host.") from exc
    return uid, gid


def _mode(entry):
    if entry["mode"] is None:
        return None
    try:
        return int(str(entry["mode"]), 8)
    except ValueError as exc:
        raise EntryError(f"{entry['path']}: mode {entry['mode']!r} is not octal.") from exc


def _attrs_differ(st, mode, uid, gid):
    """The attributes (mode, owner, group) that differ from the wanted ones, as names."""
    found = []
    if mode is not None and stat.S_IMODE(st.st_mode) != mode:
        found.append("mode")
    if uid != -1 and st.st_uid != uid:
        found.append("owner")
    if gid != -1 and st.st_gid != gid:
        found.append("group")
    return found


def _lstat(path):
    try:
        return os.lstat(path)
    except FileNotFoundError:
        return None


def _read(path):
    with open(path, "rb") as handle:
        return handle.read()


def _write_file(path, data, mode, uid, gid):
    directory = os.path.dirname(path)
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=f".{os.path.basename(path)}.")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        old = _lstat(path)
        os.chmod(tmp, mode if mode is not None else (stat.S_IMODE(old.st_mode) if old else 0o644))
        keep_uid, keep_gid = (old.st_uid, old.st_gid) if old else (-1, -1)
        os.chown(tmp, uid if uid != -1 else keep_uid, gid if gid != -1 else keep_gid)
        os.replace(tmp, path)
    except BaseException:
        if os.path.lexists(tmp):
            os.unlink(tmp)
        raise


def _ensure_file(entry, check, planned_dirs):
    path, data = entry["path"], (entry["content"] or "").encode("utf-8")
    mode, (uid, gid) = _mode(entry), _ids(entry)
    st = _lstat(path)
    if st is not None and not stat.S_ISREG(st.st_mode):
        raise EntryError(f"{path} exists and is not a regular file; it is left as it is.")
    parent = os.path.dirname(path)
    if st is None and not os.path.isdir(parent) and not (check and parent in planned_dirs):
        raise EntryError(f"{path}: its directory {parent} does not exist (list it first).")
    before = _read(path) if st is not None else b""
    content_differs = st is None or before != data
    attrs = [] if st is None else _attrs_differ(st, mode, uid, gid)
    if not content_differs and not attrs:
        return None
    if not check:
        if content_differs:
            _write_file(path, data, mode, uid, gid)
        else:
            if "mode" in attrs:
                os.chmod(path, mode)
            if "owner" in attrs or "group" in attrs:
                os.chown(path, uid, gid)
    if content_differs:
        return {
            "before_header": path if st is not None else f"{path} (absent)",
            "after_header": path,
            "before": before.decode("utf-8", "replace"),
            "after": data.decode("utf-8", "replace"),
        }
    return {
        "before": {"path": path, **{k: _attr(st, k) for k in attrs}},
        "after": {"path": path, **{k: entry[k] for k in attrs}},
    }


def _attr(st, name):
    if name == "mode":
        return "%04o" % stat.S_IMODE(st.st_mode)
    if name == "owner":
        try:
            return pwd.getpwuid(st.st_uid).pw_name
        except KeyError:
            return str(st.st_uid)
    try:
        return grp.getgrgid(st.st_gid).gr_name
    except KeyError:
        return str(st.st_gid)


def _ensure_directory(entry, check, planned_dirs):
    path = entry["path"]
    mode, (uid, gid) = _mode(entry), _ids(entry)
    st = _lstat(path)
    if st is not None and not stat.S_ISDIR(st.st_mode):
        raise EntryError(f"{path} exists and is not a directory; it is left as it is.")
    if st is None:
        planned_dirs.add(path)
        if not check:
            os.makedirs(path, exist_ok=True)
            os.chmod(path, mode if mode is not None else 0o755)
            os.chown(path, uid, gid)
        return {
            "before": {"path": path, "state": "absent"},
            "after": {"path": path, "state": "directory"},
        }
    attrs = _attrs_differ(st, mode, uid, gid)
    if not attrs:
        return None
    if not check:
        if "mode" in attrs:
            os.chmod(path, mode)
        if "owner" in attrs or "group" in attrs:
            os.chown(path, uid, gid)
    return {
        "before": {"path": path, **{k: _attr(st, k) for k in attrs}},
        "after": {"path": path, **{k: entry[k] for k in attrs}},
    }


def _ensure_link(entry, check, planned_dirs):
    path, src = entry["path"], entry["src"]
    st = _lstat(path)
    if st is not None and not stat.S_ISLNK(st.st_mode):
        raise EntryError(f"{path} exists and is not a symlink; it is left as it is.")
    found = os.readlink(path) if st is not None else None
    if found == src:
        return None
    parent = os.path.dirname(path)
    if not os.path.isdir(parent) and not (check and parent in planned_dirs):
        raise EntryError(f"{path}: its directory {parent} does not exist (list it first).")
    if not check:
        tmp = os.path.join(parent, f".{os.path.basename(path)}.{os.getpid()}.tmp")
        if os.path.lexists(tmp):
            os.unlink(tmp)
        os.symlink(src, tmp)
        os.replace(tmp, path)
    return {
        "before": {"path": path, "state": "link" if found else "absent", "src": found},
        "after": {"path": path, "state": "link", "src": src},
    }


_ENSURE = {"file": _ensure_file, "directory": _ensure_directory, "link": _ensure_link}


def main():
    module = AnsibleModule(
        argument_spec={
            "entries": {
                "type": "list",
                "elements": "dict",
                "required": True,
                "options": {
                    "path": {"type": "path", "required": True},
                    "state": {
                        "type": "str",
                        "choices": ["file", "directory", "link"],
                        "default": "file",
                    },
                    "content": {"type": "str"},
                    "src": {"type": "str"},
                    "mode": {"type": "str"},
                    "owner": {"type": "str"},
                    "group": {"type": "str"},
                },
                "required_if": [("state", "file", ["content"]), ("state", "link", ["src"])],
            },
        },
        supports_check_mode=True,
    )
    check = module.check_mode
    changed_paths, diffs, planned_dirs = [], [], set()
    for entry in module.params["entries"]:
        if not os.path.isabs(entry["path"]):
            module.fail_json(
                msg=f"{entry['path']}: the path must be absolute.", paths=changed_paths
            )
        try:
            diff = _ENSURE[entry["state"]](entry, check, planned_dirs)
        except (EntryError, OSError) as exc:
            module.fail_json(msg=str(exc), paths=changed_paths)
        if diff is not None:
            changed_paths.append(entry["path"])
            diffs.append(diff)
    result = {"changed": bool(changed_paths), "paths": changed_paths}
    if module._diff:
        result["diff"] = diffs
    module.exit_json(**result)


if __name__ == "__main__":
    main()
