#!/usr/bin/env bash
# Stops what deploy/up.sh started (by the PIDs in $NANOKUBE_HOME/run) and
# removes the pid files. Keeps etcd data, logs and the kubeconfig unless
# --purge is given. Safe to run again.
#
#   bash deploy/down.sh [--purge]
set -euo pipefail

nk_home="${NANOKUBE_HOME:-$HOME/.nanokube}"
purge=0

for arg in "$@"; do
  case "$arg" in
    --purge) purge=1 ;;
    -h | --help)
      sed -n '2,6p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
      exit 0
      ;;
    *)
      echo "down: unknown flag $arg (try --help)" >&2
      exit 2
      ;;
  esac
done

say() { echo "down: $*"; }

# stop NAME PATTERN: SIGTERM, up to 10 s to exit, then SIGKILL. Only signals
# the PID when its command line still contains PATTERN (PIDs get reused).
stop() {
  local name="$1" pattern="$2" pidfile="$nk_home/run/$1.pid" pid
  [[ -f $pidfile ]] || return 0
  pid="$(cat "$pidfile")"
  if [[ -n $pid && -r /proc/$pid/cmdline ]] && tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q -- "$pattern"; then
    say "stopping $name (pid $pid)"
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 50); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.2
    done
    if kill -0 "$pid" 2>/dev/null; then
      say "$name did not exit after SIGTERM; sending SIGKILL"
      kill -KILL "$pid" 2>/dev/null || true
    fi
  else
    say "$name was not running"
  fi
  rm -f "$pidfile"
}

# Clients before the store they talk to.
stop apiserver apiserver/main.js
stop etcd etcd
rmdir "$nk_home/run" 2>/dev/null || true

if [[ $purge -eq 1 ]]; then
  say "removing etcd data, logs and kubeconfig under $nk_home"
  rm -rf "$nk_home/etcd" "$nk_home/logs" "$nk_home/kubeconfig"
  rmdir "$nk_home" 2>/dev/null || true
fi
say "done"
