#!/usr/bin/env bash
# The README's first command: installs what is missing (etcd, Docker) and
# builds (deploy/setup.sh --with-docker), then starts a one-host cluster
# with `nkctl up` (this host is its node), which merges a `nanokube`
# context into ~/.kube/config (or $KUBECONFIG).
#
#   bash deploy/up.sh          (stop with: bash deploy/down.sh [--purge])
#
# Safe to run again: what runs is reused.
#   NANOKUBE_HOME       state, logs, pid files (default ~/.nanokube)
#   NANOKUBE_ETCD_PORT  etcd client port (default 2379; peer port is one more)
#   NANOKUBE_API_PORT   apiserver port, plain HTTP on the pod bridge (default 6443)
#   NANOKUBE_POD_CIDR   the node's pod range (default 10.244.1.0/24)
#   NANOKUBE_NODE=0     control plane only, no kubelet or kube-proxy
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
case "${1:-}" in
  -h | --help)
    sed -n '2,14p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
    exit 0
    ;;
esac
bash "$repo/deploy/setup.sh" --with-docker
die() {
  echo "up: $*" >&2
  exit 1
}
# shellcheck source=deploy/lib.sh
source "$repo/deploy/lib.sh"
use_project_node "$repo"
exec node "$repo/dist/cli/main.js" up "$@"
