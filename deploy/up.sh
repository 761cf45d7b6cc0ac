#!/usr/bin/env bash
# The README's first command: installs what is missing and builds
# (deploy/setup.sh), then starts a one-host cluster with `nkctl up`, which
# merges a `nanokube` context into ~/.kube/config (or $KUBECONFIG).
#
#   bash deploy/up.sh          (stop with: bash deploy/down.sh [--purge])
#
# Safe to run again: what runs is reused.
#   NANOKUBE_HOME       state, logs, pid files (default ~/.nanokube)
#   NANOKUBE_ETCD_PORT  etcd client port (default 2379; peer port is one more)
#   NANOKUBE_API_PORT   apiserver port, plain HTTP on 127.0.0.1 (default 6443)
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
case "${1:-}" in
  -h | --help)
    sed -n '2,11p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
    exit 0
    ;;
esac
bash "$repo/deploy/setup.sh"
exec node "$repo/dist/cli/main.js" up "$@"
