#!/usr/bin/env bash
# The main job on a local testbed: bring up Pi-like hosts and show them.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=.venv/bin
"$bin/pi-k8s" testbed up --name demo --nodes 3 --others 1 --subnet 10.213.12.0/24
echo
echo "Take the demo testbed down with: make demo-down"
