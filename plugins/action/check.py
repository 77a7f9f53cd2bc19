"""pik8s.cluster.check: fail with a message when the check's ``error`` is not empty.

The roles' input checks each work out one message, empty when all is well
(``_k3s_install_settings_error`` and the like). ``ansible.builtin.assert`` templates its
``fail_msg`` before it tests ``that``, so such a check renders its message twice on every
host, also when it passes; this renders it once (docs/performance.md, round thirteen).
"""

from __future__ import annotations

from typing import Any

from ansible.plugins.action import ActionBase


class ActionModule(ActionBase):
    _requires_connection = False
    _VALID_ARGS = frozenset(("error",))

    def run(self, tmp: Any = None, task_vars: dict[str, Any] | None = None) -> dict[str, Any]:
        result = super().run(tmp, task_vars)
        del tmp  # no effect here
        _, args = self.validate_argument_spec(
            argument_spec={"error": {"type": "raw", "default": ""}},
        )
        # A message template whose branches all stay empty may render as nothing at all.
        error = "" if args["error"] is None else str(args["error"]).strip()
        result["changed"] = False
        if error:
            result["failed"] = True
            result["msg"] = error
        return result
