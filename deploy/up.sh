#!/usr/bin/env bash
# Starts a one-host nanokube: installs and builds (deploy/setup.sh), then runs
# etcd and the apiserver in the background and writes a kubeconfig.
#
#   bash deploy/up.sh          (stop with: bash deploy/down.sh [--purge])
#
# Safe to run again: processes that are already running are reused.
#   NANOKUBE_HOME       state, logs, pid files, kubeconfig (default ~/.nanokube)
#   NANOKUBE_ETCD_PORT  etcd client port (default 2379; peer port is one more)
#   NANOKUBE_API_PORT   apiserver port, plain HTTP on 127.0.0.1 (default 6443)
# `nkctl up` replaces this script once the other components exist.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
nk_home="${NANOKUBE_HOME:-$HOME/.nanokube}"
etcd_port="${NANOKUBE_ETCD_PORT:-2379}"
etcd_peer_port="$((etcd_port + 1))"
api_port="${NANOKUBE_API_PORT:-6443}"
etcd_url="http://127.0.0.1:$etcd_port"
api_url="http://127.0.0.1:$api_port"
kubeconfig="$nk_home/kubeconfig"

say() { echo "up: $*"; }
die() {
  echo "up: $*" >&2
  exit 1
}

case "${1:-}" in
  "") ;;
  -h | --help)
    sed -n '2,11p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
    exit 0
    ;;
  *)
    echo "up: unknown flag $1 (try --help)" >&2
    exit 2
    ;;
esac

bash "$repo/deploy/setup.sh"
mkdir -p "$nk_home/etcd" "$nk_home/logs" "$nk_home/run"

# http_ok URL: true when GET URL answers 2xx within 2 s. Node is always here.
http_ok() {
  node -e 'fetch(process.argv[1], { signal: AbortSignal.timeout(2000) })
    .then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))' "$1"
}

# running NAME PATTERN: true when run/NAME.pid names a live process whose
# command line contains PATTERN (so a recycled PID is not mistaken for ours).
running() {
  local pidfile="$nk_home/run/$1.pid" pid
  [[ -f $pidfile ]] || return 1
  pid="$(cat "$pidfile")"
  [[ -n $pid && -r /proc/$pid/cmdline ]] || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q -- "$2"
}

# wait_ready NAME URL SECONDS: polls URL until it answers, or fails with the
# tail of the log when the process dies or time runs out.
wait_ready() {
  local name="$1" url="$2" deadline=$((SECONDS + $3)) pid
  pid="$(cat "$nk_home/run/$name.pid")"
  until http_ok "$url"; do
    if ! kill -0 "$pid" 2>/dev/null || ((SECONDS >= deadline)); then
      echo "up: $name did not become ready at $url; last lines of $nk_home/logs/$name.log:" >&2
      tail -n 20 "$nk_home/logs/$name.log" >&2 || true
      exit 1
    fi
    sleep 0.2
  done
}

# start NAME CMD...: runs CMD in its own session (so closing the terminal
# leaves it running), appending to logs/NAME.log, its PID in run/NAME.pid.
start() {
  local name="$1"
  shift
  echo "--- $(date -u +%FT%TZ) $*" >>"$nk_home/logs/$name.log"
  setsid "$@" >>"$nk_home/logs/$name.log" 2>&1 </dev/null &
  echo $! >"$nk_home/run/$name.pid"
}

if running etcd etcd; then
  say "etcd already running (pid $(cat "$nk_home/run/etcd.pid")) at $etcd_url"
else
  http_ok "$etcd_url/health" && die "something else answers on $etcd_url; set NANOKUBE_ETCD_PORT"
  say "starting etcd at $etcd_url (data $nk_home/etcd)"
  start etcd etcd --name nanokube --data-dir "$nk_home/etcd" --logger zap \
    --listen-client-urls "$etcd_url" --advertise-client-urls "$etcd_url" \
    --listen-peer-urls "http://127.0.0.1:$etcd_peer_port" \
    --initial-advertise-peer-urls "http://127.0.0.1:$etcd_peer_port" \
    --initial-cluster "nanokube=http://127.0.0.1:$etcd_peer_port"
fi
wait_ready etcd "$etcd_url/health" 30

if running apiserver apiserver/main.js; then
  say "apiserver already running (pid $(cat "$nk_home/run/apiserver.pid")) at $api_url"
else
  [[ -f $repo/dist/apiserver/main.js ]] || die "dist/apiserver/main.js is missing; the build did not produce the apiserver"
  http_ok "$api_url/healthz" && die "something else answers on $api_url; set NANOKUBE_API_PORT"
  say "starting apiserver at $api_url"
  start apiserver node "$repo/dist/apiserver/main.js" --etcd-servers "$etcd_url" \
    --port "$api_port" --bind-address 127.0.0.1
fi
wait_ready apiserver "$api_url/readyz" 30

cat >"$kubeconfig" <<EOF
apiVersion: v1
kind: Config
clusters:
  - name: nanokube
    cluster:
      server: $api_url
users:
  - name: nanokube
    user: {}
contexts:
  - name: nanokube
    context:
      cluster: nanokube
      user: nanokube
      namespace: default
current-context: nanokube
EOF

say "nanokube is up: etcd $etcd_url, apiserver $api_url, logs in $nk_home/logs/"
cat <<EOF

  export KUBECONFIG=$kubeconfig
  kubectl get ns

Stop it with: bash deploy/down.sh   (add --purge to delete its data too)
EOF
