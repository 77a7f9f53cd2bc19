#!/usr/bin/python
"""Set kernel sysctls in the running kernel, knowing which ones a container owns."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: pi_prereq_sysctl
short_description: Set sysctls in the running kernel, container-aware.
description:
  - Reads each sysctl from /proc/sys and writes the wanted value when it differs, so a run
    also repairs a value changed since the last one (drift).
  - On a host with its own kernel every sysctl is applied; a refused write fails the task.
  - In a container, only sysctls under I(namespaced_prefixes) belong to the container (its
    network namespace); they are applied like on any host. The others belong to the kernel
    the container shares (writing them would change that machine), so they are not touched
    and are reported in C(host_owned). A namespaced sysctl the kernel refuses in this
    namespace is reported there too, with the kernel's error.
  - Supports check mode (reports what would change, writes nothing).
options:
  sysctls:
    description: Sysctl names (dotted, as in sysctl.d files) and wanted values.
    type: dict
    required: true
  in_container:
    description: Whether the host shares another machine's kernel.
    type: bool
    default: false
  namespaced_prefixes:
    description: Name prefixes of the sysctls a container's own namespaces hold.
    type: list
    elements: str
    default: [net.]
"""

RETURN = r"""
set:
  description: The sysctls changed (or that would change in check mode), with old and new value.
  type: dict
  returned: always
host_owned:
  description: Sysctls left to the kernel a container shares, each with the reason.
  type: dict
  returned: always
"""

import errno
import os

from ansible.module_utils.basic import AnsibleModule

_REFUSED = (errno.EACCES, errno.EPERM, errno.EROFS, errno.ENOENT)


def _path(name):
    # sysctl(8): a name may use "/" instead of "." as its separator.
    return "/proc/sys/" + (name if "/" in name else name.replace(".", "/"))


def _norm(value):
    # Multi-value sysctls read back tab-separated ("32768\t60999").
    return " ".join(str(value).split())


def main():
    module = AnsibleModule(
        argument_spec={
            "sysctls": {"type": "dict", "required": True},
            "in_container": {"type": "bool", "default": False},
            "namespaced_prefixes": {"type": "list", "elements": "str", "default": ["net."]},
        },
        supports_check_mode=True,
    )
    params = module.params
    changed_set, host_owned = {}, {}
    for name, wanted in params["sysctls"].items():
        want = _norm(wanted)
        if params["in_container"] and not name.startswith(tuple(params["namespaced_prefixes"])):
            host_owned[name] = "owned by the host kernel (shared by the container)"
            continue
        path = _path(name)
        try:
            with open(path, encoding="utf-8") as handle:
                have = _norm(handle.read())
        except OSError as exc:
            if params["in_container"] and exc.errno in _REFUSED:
                host_owned[name] = f"owned by the host kernel: {os.strerror(exc.errno)} ({path})"
                continue
            module.fail_json(msg=f"Cannot read {name} ({path}): {exc.strerror}.", set=changed_set)
        if have == want:
            continue
        if not module.check_mode:
            try:
                with open(path, "w", encoding="utf-8") as handle:
                    handle.write(want + "\n")
            except OSError as exc:
                if params["in_container"] and exc.errno in _REFUSED:
                    host_owned[name] = (
                        f"owned by the host kernel: the kernel refused the write in this "
                        f"namespace ({os.strerror(exc.errno)})"
                    )
                    continue
                module.fail_json(
                    msg=f"Cannot set {name}={want} ({path}): {exc.strerror}.", set=changed_set
                )
        changed_set[name] = {"before": have, "after": want}
    module.exit_json(changed=bool(changed_set), set=changed_set, host_owned=host_owned)


if __name__ == "__main__":
    main()
