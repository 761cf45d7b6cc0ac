#!/usr/bin/env bash
# Installs what nanokube needs on this host, then builds it.
#
#   bash deploy/setup.sh [--with-docker]
#
# Safe to run again: every step checks first and does nothing when it is
# already done. Needs root (or sudo) only when a Debian package is missing.
# Never uses systemd: daemons it needs are started in the background.
#
#   Node.js 24                where the host's node is older than 22: the
#                             official binary (npm registry, checked against
#                             deploy/lib.sh's pin) in .node/, which every
#                             script and npm script then runs on
#   etcd-server, etcd-client  the real etcd and etcdctl (apt)
#   kubectl                   only when missing and apt has it (tests use it)
#   python3-kubernetes        the official Python client (tests use it)
#   node_modules              `npm ci` when missing or package-lock.json changed
#   dist/                     `npm run build`
#   nkctl                     a command on the PATH (/usr/local/bin/nkctl, when
#                             root) that runs this checkout's dist/cli/main.js
#   --with-docker             docker.io, and a dockerd started in the background
#                             when /var/run/docker.sock does not answer; then
#                             the offline images (deploy/images/build.sh, which
#                             needs busybox-static and gcc's static libc),
#                             conntrack for kube-proxy, openssl and curl for tests,
#                             docker-compose for the lab (its image is built by
#                             its test, or npm run lab:up)
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
nk_home="${NANOKUBE_HOME:-$HOME/.nanokube}"
with_docker=0

for arg in "$@"; do
  case "$arg" in
    --with-docker) with_docker=1 ;;
    -h | --help)
      sed -n '2,24p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
      exit 0
      ;;
    *)
      echo "setup: unknown flag $arg (try --help)" >&2
      exit 2
      ;;
  esac
done

say() { echo "setup: $*"; }
die() {
  echo "setup: $*" >&2
  exit 1
}
# shellcheck source=deploy/lib.sh
source "$repo/deploy/lib.sh"

sudo_cmd=()
if [[ $EUID -ne 0 ]]; then
  if command -v sudo >/dev/null 2>&1; then
    sudo_cmd=(sudo)
  fi
fi

# --- Debian packages --------------------------------------------------------

apt_updated=0
policy_created=0

remove_policy() {
  if [[ $policy_created -eq 1 ]]; then
    "${sudo_cmd[@]}" rm -f /usr/sbin/policy-rc.d
    policy_created=0
  fi
}
trap remove_policy EXIT

can_apt() {
  command -v apt-get >/dev/null 2>&1 && [[ $EUID -eq 0 || ${#sudo_cmd[@]} -gt 0 ]]
}

apt_update_once() {
  if [[ $apt_updated -eq 0 ]]; then
    say "apt-get update"
    "${sudo_cmd[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq
    apt_updated=1
  fi
}

apt_install() {
  can_apt || die "need $*: install them by hand, or run as root (or with sudo) on Debian/Ubuntu"
  # Packages like etcd-server start their daemon on install through
  # invoke-rc.d; we start our own, with our flags, so forbid that here.
  if [[ ! -e /usr/sbin/policy-rc.d ]]; then
    printf '#!/bin/sh\nexit 101\n' | "${sudo_cmd[@]}" tee /usr/sbin/policy-rc.d >/dev/null
    "${sudo_cmd[@]}" chmod 755 /usr/sbin/policy-rc.d
    policy_created=1
  fi
  apt_update_once
  say "apt-get install $*"
  "${sudo_cmd[@]}" env DEBIAN_FRONTEND=noninteractive \
    apt-get install -y -qq --no-install-recommends "$@" >/dev/null
  remove_policy
}

# --- Node.js ----------------------------------------------------------------

node_major="$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)"
[[ $node_major -ge 1 ]] || die "need Node.js and npm (any version: setup brings Node.js $nk_node_version where it is older than 22)"
if [[ $node_major -lt 22 ]]; then
  if [[ "$("$repo/.node/bin/node" --version 2>/dev/null)" != "v$nk_node_version" ]]; then
    say "Node.js $(node --version) is older than 22: installing Node.js $nk_node_version in $repo/.node"
  fi
  install_node "$nk_node_version" "$repo/.node"
fi
use_project_node "$repo"
say "node $(node --version) ($(command -v node))"

missing=()
command -v etcd >/dev/null 2>&1 || missing+=(etcd-server)
command -v etcdctl >/dev/null 2>&1 || missing+=(etcd-client)
# nkctl up makes the cluster's CA and certificates with it.
command -v openssl >/dev/null 2>&1 || missing+=(openssl)
if [[ ${#missing[@]} -gt 0 ]]; then
  apt_install "${missing[@]}"
fi
say "etcd $(etcd --version | sed -n 's/^etcd Version: //p')"

# Optional: the e2e tests drive the real kubectl. Debian proper has no kubectl
# package; Google's and Kubernetes' apt repositories do.
if ! command -v kubectl >/dev/null 2>&1; then
  if can_apt && apt_update_once && apt-cache show kubectl >/dev/null 2>&1; then
    apt_install kubectl
  else
    say "kubectl not found (install it to run the kubectl e2e tests)"
  fi
fi

# The e2e tests drive the official Python client too: Debian's python3-kubernetes,
# for Debian's own python3 (not another python3 first on the PATH).
if ! /usr/bin/python3 -c 'import kubernetes' >/dev/null 2>&1; then
  if can_apt; then
    apt_install python3-kubernetes
  else
    say "the Python client (python3-kubernetes) not found: install it to run its e2e tests"
  fi
fi

# --- Docker (for later issues) ----------------------------------------------

docker_answers() { timeout 10 docker info >/dev/null 2>&1; }

if [[ $with_docker -eq 1 ]]; then
  command -v dockerd >/dev/null 2>&1 || apt_install docker.io
  if docker_answers; then
    say "docker is running"
  else
    # Shared by everything on the host, so deploy/down.sh leaves it running;
    # dockerd keeps its own pid in /var/run/docker.pid.
    mkdir -p "$nk_home/logs"
    say "starting dockerd (log $nk_home/logs/dockerd.log)"
    "${sudo_cmd[@]}" setsid dockerd >>"$nk_home/logs/dockerd.log" 2>&1 </dev/null &
    for _ in $(seq 1 60); do
      docker_answers && break
      sleep 1
    done
    docker_answers || die "dockerd did not answer within 60s; see $nk_home/logs/dockerd.log"
    say "docker is running"
  fi
  image_deps=()
  # kube-proxy deletes stale UDP conntrack entries with it; the ingress e2e
  # talks to its server with curl.
  command -v conntrack >/dev/null 2>&1 || image_deps+=(conntrack)
  command -v curl >/dev/null 2>&1 || image_deps+=(curl)
  [[ -x /bin/busybox ]] || image_deps+=(busybox-static)
  # The docker-compose lab (docker-compose.yml): Compose v2 or Debian's 1.29.
  docker compose version >/dev/null 2>&1 || command -v docker-compose >/dev/null 2>&1 || image_deps+=(docker-compose)
  command -v gcc >/dev/null 2>&1 || image_deps+=(gcc)
  [[ -n $(find /usr/lib -name libc.a -print -quit 2>/dev/null) ]] || image_deps+=(libc6-dev)
  if [[ ${#image_deps[@]} -gt 0 ]]; then
    apt_install "${image_deps[@]}"
  fi
  bash "$repo/deploy/images/build.sh"
fi

# --- npm dependencies and build ---------------------------------------------

cd "$repo"
stamp="node_modules/.nanokube-lock.sha256"
node_stamp="node_modules/.nanokube-node"
lock_hash() { sha256sum package-lock.json | cut -d' ' -f1; }
# Native modules (ssh2's, under dockerode) are built for one Node.js: another one means npm ci again.
[[ -d $repo/.node && $(command -v node) == "$repo/.node/bin/node" ]] && export npm_config_nodedir="$repo/.node"

deps_fresh() {
  [[ -d node_modules ]] || return 1
  [[ "$(cat "$node_stamp" 2>/dev/null)" == "$(node --version)" ]] || return 1
  [[ -f $stamp && "$(cat "$stamp")" == "$(lock_hash)" ]] && return 0
  # Someone ran `npm install` after the lock file last changed: npm writes its
  # hidden lock file on every install, so a newer one means the tree matches.
  [[ -f node_modules/.package-lock.json && node_modules/.package-lock.json -nt package-lock.json ]]
}

if deps_fresh; then
  say "node_modules up to date"
else
  say "npm ci"
  ci_log="$(mktemp)"
  if ! npm ci --no-audit --no-fund --loglevel=error >"$ci_log" 2>&1; then
    # A registry mirror that lacks other platforms' optional packages (biome's
    # cli-darwin-*, ...) makes npm ci reject a lock file that npm install
    # accepts unchanged; fall back rather than fail on such a machine.
    say "npm ci failed: $(grep -v '^npm error code' "$ci_log" | grep -m1 -E '^npm error [^ ]' | cut -c11-)"
    say "using npm install instead"
    rm -f "$ci_log"
    npm install --no-audit --no-fund --loglevel=error
  fi
  rm -f "$ci_log"
fi
lock_hash >"$stamp"
node --version >"$node_stamp"
# npm scripts (npm test, npm run bench, ...) put node_modules/.bin first on their PATH:
# there, `node` is the one setup installed.
if [[ $(command -v node) == "$repo/.node/bin/node" ]]; then
  ln -sfn ../../.node/bin/node node_modules/.bin/node
else
  rm -f node_modules/.bin/node
fi

say "npm run build"
npm run --silent build || die "npm run build failed (see the errors above)"
if [[ $(id -u) -eq 0 ]]; then
  wrapper="#!/bin/sh
exec \"$(command -v node)\" \"$repo/dist/cli/main.js\" \"\$@\""
  if [[ "$(cat /usr/local/bin/nkctl 2>/dev/null)" != "$wrapper" ]]; then
    printf '%s\n' "$wrapper" >/usr/local/bin/nkctl
    chmod 755 /usr/local/bin/nkctl
    say "nkctl: /usr/local/bin/nkctl runs $repo/dist/cli/main.js"
  fi
fi
if [[ $with_docker -eq 1 ]]; then
  # The project's own image holds dist/, so it follows the build.
  bash "$repo/deploy/images/build.sh"
fi
say "done"
