# The documentation of the action plugin plugins/action/check.py (it runs on the controller:
# there is no module to send to the host).
from __future__ import annotations

DOCUMENTATION = r"""
module: check
short_description: Fail with a message when a check's error is not empty
description:
  - Fails the host with I(error) as its message when I(error) is not empty (leading and
    trailing blanks ignored); otherwise reports C(ok), changing nothing.
  - For the roles' input checks, which each work out one message that is empty when all is
    well. Unlike M(ansible.builtin.assert), whose C(fail_msg) is templated before C(that) is
    tested, the message is templated once.
  - Runs on the controller; check mode and C(--diff) change nothing.
options:
  error:
    description: The check's message; empty when the check passes.
    type: str
    default: ""
attributes:
  check_mode:
    support: full
  diff_mode:
    support: none
  platform:
    platforms: all
author: pi-k8s maintainers
"""

EXAMPLES = r"""
- name: Ensure the cluster name is a DNS label.
  pik8s.cluster.check:
    error: >-
      {% if cluster_name is not match('^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$') %}
      cluster_name '{{ cluster_name }}' is not a DNS label.
      {% endif %}
"""

RETURN = r"""
msg:
  description: The error, when the check failed.
  type: str
  returned: failure
"""
