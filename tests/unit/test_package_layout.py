"""The domain packages split out of single modules (issue 12) keep their submodules reachable.

A package's __init__ re-exports public names for its callers. A re-exported name equal
to a submodule's name (a function ``plan`` beside ``plan.py``) would replace that
submodule as the package's attribute: ``import pi_k8s.workloads.plan as m`` and
monkeypatch targets like ``"pi_k8s.workloads.plan.x"`` would then reach the function.
"""

from __future__ import annotations

import importlib
import pkgutil
from types import ModuleType

import pytest

PACKAGES = ["pi_k8s.discovery", "pi_k8s.inventory", "pi_k8s.workloads"]


@pytest.mark.parametrize("name", PACKAGES)
def test_every_submodule_is_the_packages_attribute_of_its_name(name: str) -> None:
    package = importlib.import_module(name)
    subs = [m.name for m in pkgutil.iter_modules(package.__path__)]
    assert subs, f"{name} has no submodules"
    for sub in subs:
        importlib.import_module(f"{name}.{sub}")
    shadowed = {
        sub: type(getattr(package, sub)).__name__
        for sub in subs
        if not isinstance(getattr(package, sub, None), ModuleType)
    }
    assert not shadowed, f"{name} re-exports names that hide its submodules: {shadowed}"


@pytest.mark.parametrize("name", PACKAGES)
def test_the_package_exports_what_its_all_lists(name: str) -> None:
    package = importlib.import_module(name)
    missing = [n for n in package.__all__ if not hasattr(package, n)]
    assert not missing, f"{name}.__all__ names what it does not define: {missing}"
