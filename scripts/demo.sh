#!/usr/bin/env bash
# The main job on a local testbed, the way a user runs it on a LAN of Pis:
#   testbed up → discover → inventory → bootstrap (+ verify) → show the nodes.
# All traffic stays on the testbed's own podman network (10.213.12.0/24) and loopback.
set -euo pipefail
cd "$(dirname "$0")/.."

bin=$PWD/.venv/bin
export PATH="$bin:$PATH"
state=${PI_K8S_STATE_DIR:?set by make}
name=${PI_K8S_DEMO_NAME:-demo}
subnet=${PI_K8S_DEMO_SUBNET:-10.213.12.0/24}
work=$state/$name
mkdir -p "$work"
version=${PI_K8S_DEMO_K3S_VERSION:-v1.31.4+k3s1}

echo "== 1/5 testbed: 3 Pi-like hosts and 1 other host on $subnet"
pi-k8s testbed up --name "$name" --nodes 3 --others 1 --subnet "$subnet"
key=$state/testbed/$name/id_ed25519

echo
echo "== 2/5 discover the Pis on $subnet"
# Host keys are trusted on first use into pi-k8s's own known_hosts file.
pi-k8s discover --subnet "$subnet" --user pi --identity "$key" -o "$work/discovery.json"

echo
echo "== 3/5 inventory from a cluster spec"
cat > "$work/cluster.yaml" <<YAML
name: $name
k3s:
  version: $version
servers: 1
ssh:
  user: pi
  identity: $key
  known_hosts: $state/known_hosts
YAML
pi-k8s inventory --spec "$work/cluster.yaml" --from "$work/discovery.json" -o "$work/hosts.yml"

echo
echo "== 4/5 bootstrap k3s"
if [ -n "${PI_K8S_DEMO_AIRGAP:-}" ]; then
  # A directory holding a real k3s release (binary + sha256sum-<arch>.txt).
  airgap=$PI_K8S_DEMO_AIRGAP
  echo "Using the k3s release in $airgap."
else
  airgap=$work/k3s-standin
  cat <<'BANNER'
################################################################################
#  NOTE: this demo does not download k3s. It never sends traffic beyond this   #
#  machine and its testbed, and the real release lives on GitHub. It installs  #
#  the TEST STAND-IN for k3s (tests/standin/: same install path, config,       #
#  tokens, systemd units, ports and node registration; runs no pods).          #
#  To use real k3s, download a release's k3s binary and sha256sum-amd64.txt    #
#  into a directory and run:  PI_K8S_DEMO_AIRGAP=/that/dir make demo           #
################################################################################
BANNER
  python tests/standin/build.py "$airgap" --version "$version" >/dev/null
fi
pi-k8s bootstrap --inventory "$work/hosts.yml" --airgap "$airgap" --skip-workloads

echo
echo "== 5/5 the cluster's nodes, from its first server"
ansible 'server[0]' -i "$work/hosts.yml" --become -m ansible.builtin.command \
  -a "k3s kubectl get nodes" 2>/dev/null | sed '1s/^/# /'
echo
echo "kubeconfig: ~/.kube/$name.yaml   ssh: ssh -F $state/testbed/$name/ssh_config rpi-1"
echo "Take the demo testbed down with: make demo-down"
