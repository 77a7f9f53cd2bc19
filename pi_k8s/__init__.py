"""pi-k8s: find the Raspberry Pis on a LAN and turn them into a verified k3s cluster."""

__version__ = "0.1.0"
