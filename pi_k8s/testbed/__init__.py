"""Local test hosts that stand in for Raspberry Pis.

Two drivers: rootful podman containers (``containers``, the default) and QEMU VMs with
their own kernel (``qemu``, imported as ``pi_k8s.testbed.qemu``). Both start from the
same Debian image recipe (``image``), lay out hosts the same way (``hosts``) and write
the same access files (``access``).

This package's names are the container testbed's API (``from pi_k8s import testbed``).
"""

from pi_k8s.testbed.access import wait_ssh as wait_ssh
from pi_k8s.testbed.containers import DEFAULT_SUBNET as DEFAULT_SUBNET
from pi_k8s.testbed.containers import check_environment as check_environment
from pi_k8s.testbed.containers import down as down
from pi_k8s.testbed.containers import status as status
from pi_k8s.testbed.containers import up as up
from pi_k8s.testbed.hosts import DEFAULT_NAME as DEFAULT_NAME
from pi_k8s.testbed.hosts import Progress as Progress
from pi_k8s.testbed.hosts import Testbed as Testbed
from pi_k8s.testbed.hosts import TestbedHost as TestbedHost
from pi_k8s.testbed.hosts import testbed_dir as testbed_dir
from pi_k8s.testbed.image import PACKAGES as PACKAGES
from pi_k8s.testbed.image import SUITE as SUITE
from pi_k8s.testbed.image import ensure_image as ensure_image
from pi_k8s.testbed.image import image_tag as image_tag
from pi_k8s.testbed.podman import LABEL as LABEL
