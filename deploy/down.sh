#!/usr/bin/env bash
# Stops the one-host cluster (`nkctl down`); --purge also deletes its data
# and the nanokube kubeconfig context. Safe to run twice.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
die() {
  echo "down: $*" >&2
  exit 1
}
# shellcheck source=deploy/lib.sh
source "$repo/deploy/lib.sh"
use_project_node "$repo"
exec node "$repo/dist/cli/main.js" down "$@"
