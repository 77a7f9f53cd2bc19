"""The testbed modules run their playbooks with ``--fast`` (Mitogen; PI_K8S_FAST=1).

Mitogen runs the same playbooks, tasks and modules on the same hosts; only the way each
task reaches its host differs (one Python per host for the run instead of one per
task). It roughly halves a module's time, which is what lets ``.ci/run`` hold the VM
test. Ansible's own strategy, what users get by default, stays proven where it matters
most. A module that sets ``ANSIBLES_OWN_STRATEGY = True`` runs without it:
test_bootstrap.py (first run, no-op, drift, check mode, a host lost), test_ssh_config.py
(-K), test_demo.py (``make demo``), test_reboot.py (its sampler must see each cordon) and
test_deploy_secrets.py and test_registries.py (secrets searched in Ansible's -vvv output).
So do molecule's scenarios and test_collection_converge.py's ansible-playbook.
``PI_K8S_TEST_FAST=0 make integration`` runs every module without it.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest


@pytest.fixture(scope="module", autouse=True)
def _fast_playbooks(request: pytest.FixtureRequest) -> Iterator[None]:
    own = getattr(request.module, "ANSIBLES_OWN_STRATEGY", False)
    if own or os.environ.get("PI_K8S_TEST_FAST", "1") == "0":
        with pytest.MonkeyPatch.context() as mp:
            mp.delenv("PI_K8S_FAST", raising=False)
            yield
        return
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("PI_K8S_FAST", "1")
        yield
