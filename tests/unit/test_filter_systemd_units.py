"""plugins/filter/systemd_units.py: ``systemctl show`` blocks matched to the units asked.

The roles' use of it on real systemd hosts is proven by molecule's pi_prereq scenario and
every testbed bootstrap (the swap and time services are decided from it).
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from ansible.errors import AnsibleFilterError

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "plugins" / "filter"))
from systemd_units import FilterModule, systemd_units  # noqa: E402

sys.path.pop(0)

# What `systemctl show --property=LoadState,ActiveState,UnitFileState -- dphys-swapfile.service
# systemd-timesyncd.service chronyd.service` printed on a testbed host (chrony not installed).
SHOWN = """LoadState=not-found
ActiveState=inactive
UnitFileState=

LoadState=loaded
ActiveState=active
UnitFileState=enabled

LoadState=loaded
ActiveState=active
UnitFileState=alias
"""


def test_each_block_belongs_to_the_unit_asked_in_that_place() -> None:
    units = systemd_units(
        SHOWN, ["dphys-swapfile.service", "systemd-timesyncd.service", "chronyd.service"]
    )
    assert units == {
        "dphys-swapfile.service": {"load": "not-found", "active": "inactive", "enabled": ""},
        "systemd-timesyncd.service": {"load": "loaded", "active": "active", "enabled": "enabled"},
        # an alias (chronyd → chrony) is reported under the name asked, not its target's Id
        "chronyd.service": {"load": "loaded", "active": "active", "enabled": "alias"},
    }


def test_a_missing_block_is_an_error_not_a_shifted_answer() -> None:
    with pytest.raises(AnsibleFilterError, match=r"printed 3 unit\(s\) for 4 asked"):
        systemd_units(SHOWN, ["a.service", "b.service", "c.service", "d.service"])


def test_the_filter_is_registered_under_its_name() -> None:
    assert FilterModule().filters()["systemd_units"] is systemd_units
