"""``file_is``: whether a path, as the ``host_state`` module read it, is already as wanted.

A role reads its host once (``host_state``) and runs a change task only where this says
the path differs, so a no-op run skips the task instead of paying a round trip for it::

    when: not (state.files[dest] | pik8s.cluster.file_is(content=lookup('template', src),
                                                          mode='0644'))

The comparison runs on the controller: the wanted content (a rendered template, a
``copy`` content, which may hold a secret) never leaves it and is not logged. When this
says "differs" the task runs as before and decides for itself, so a false "differs" only
costs the round trip that was paid before; it never skips a needed change as long as
each aspect the task sets (content, mode, owner, group, link target) is passed here.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping, Sequence
from typing import Any

from ansible.errors import AnsibleFilterError

KINDS = ("file", "directory", "link")


def _mode(value: Any) -> str:
    text = str(value)
    return f"{int(text, 8):04o}" if text.isdigit() else text


def file_is(
    entry: Mapping[str, Any],
    kind: str = "file",
    content: str | None = None,
    sha1: str | None = None,
    sha256: str | None = None,
    mode: Any = None,
    owner: str | None = None,
    group: str | None = None,
    target: str | None = None,
) -> bool:
    """True when ``entry`` (one of ``host_state``'s ``files``) already is all that is asked."""
    if not isinstance(entry, Mapping) or "exists" not in entry:
        raise AnsibleFilterError(f"file_is expects an entry of host_state's files, got {entry!r}")
    if kind not in KINDS:
        raise AnsibleFilterError(f"file_is: kind must be one of {', '.join(KINDS)}, not {kind!r}")
    if not entry["exists"] or entry.get("type") != kind:
        return False
    if content is not None:
        sha1 = hashlib.sha1(str(content).encode("utf-8")).hexdigest()
    wanted = {
        "sha1": sha1,
        "sha256": sha256,
        "mode": None if mode is None else _mode(mode),
        "owner": owner,
        "group": group,
        "target": target,
    }
    return all(entry.get(key) == value for key, value in wanted.items() if value is not None)


def _sysctl_path(name: str) -> str:
    # sysctl(8): a name may use "/" instead of "." as its separator (as pi_prereq_sysctl).
    return "/proc/sys/" + (name if "/" in name else name.replace(".", "/"))


def sysctl_paths(sysctls: Mapping[str, Any]) -> list[str]:
    """Each sysctl's file under /proc/sys, for ``host_state``'s ``read``."""
    return [_sysctl_path(name) for name in sysctls]


def sysctls_differ(
    sysctls: Mapping[str, Any],
    content: Mapping[str, str | None],
    only: Sequence[str] | None = None,
) -> list[str]:
    """The sysctls whose running value (``host_state``'s ``content``) is not the wanted one.

    Values compare as ``pi_prereq_sysctl`` compares them (whitespace-separated words); one
    that could not be read counts as differing, so the module runs and says why. With
    ``only`` (name prefixes), the others are left out: in a container they belong to the
    kernel it shares, and the module never sets them.
    """
    off = []
    for name, wanted in sysctls.items():
        if only is not None and not name.startswith(tuple(only)):
            continue
        have = content.get(_sysctl_path(name))
        if have is None or " ".join(have.split()) != " ".join(str(wanted).split()):
            off.append(name)
    return off


def sysctls_outside(sysctls: Mapping[str, Any], prefixes: Sequence[str]) -> list[str]:
    """The sysctls whose name starts with none of ``prefixes`` (a container's shared kernel's)."""
    return [name for name in sysctls if not name.startswith(tuple(prefixes))]


def line_set(text: str | None, regexp: str, line: str) -> str:
    """``text`` as ``lineinfile`` with ``regexp`` and ``line`` would leave it.

    The last line that matches ``regexp`` becomes ``line``; with none, ``line`` is added at
    the end (after a newline, if the text lacks its last one). For a file ``host_state``
    read, so its new content goes to ``host_files`` with the role's other files.
    """
    if text is None:
        raise AnsibleFilterError("line_set expects the text of a file host_state read, got None")
    lines = text.splitlines(keepends=True)
    pattern = re.compile(regexp)
    found = [i for i, each in enumerate(lines) if pattern.search(each.rstrip("\r\n"))]
    if found:
        lines[found[-1]] = line + "\n"
    else:
        if lines and not lines[-1].endswith("\n"):
            lines[-1] += "\n"
        lines.append(line + "\n")
    return "".join(lines)


class FilterModule:
    def filters(self) -> dict[str, Any]:
        return {
            "file_is": file_is,
            "line_set": line_set,
            "sysctl_paths": sysctl_paths,
            "sysctls_differ": sysctls_differ,
            "sysctls_outside": sysctls_outside,
        }
