"""``python -m pi_k8s.testbed.qemu supervise VMDIR``: the per-VM launcher process."""

import sys

from pi_k8s.testbed.qemu.supervisor import main

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
