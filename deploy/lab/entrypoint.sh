#!/usr/bin/env bash
# The one entry point of the lab image (deploy/images/lab/Dockerfile): each
# service of docker-compose.yml runs it with its role.
#
#   entrypoint.sh pki                  etcd's CA and certificates into /pki, once
#   entrypoint.sh etcd                 a member of the 3-member etcd cluster (TLS, client certificates)
#   entrypoint.sh apiserver            nk-apiserver on :8080 over every member
#   entrypoint.sh balancer             HAProxy in TCP mode over the apiservers
#   entrypoint.sh controller-manager   leader-elected
#   entrypoint.sh scheduler            leader-elected
#   entrypoint.sh worker               its own dockerd, then kubelet + kube-proxy
#   entrypoint.sh kubeconfig           merges context nanokube-lab into /kube/config
#   entrypoint.sh addons               creates deploy/manifests (cluster DNS, ingress)
#
# Settings come from the environment (docker-compose.yml sets them):
#   ETCD_CLUSTER    name=https://host:2380,... of every member (etcd)
#   ETCD_SERVERS    https://host:2379,... (apiserver)
#   APISERVERS      host:port of every apiserver (balancer)
#   MASTER          the apiserver URL the components use (the balancer)
#   PKI_DIR         a worker's kubeconfigs and certificates (TLS); without it, plain HTTP to MASTER
#   SERVER          the URL written in the kubeconfig for the host
#   NODE_MONITOR_GRACE_PERIOD, DOCKER_STORAGE_DRIVER, LOG_LEVEL
#   CGROUP_PARENT   the worker's engine puts its containers' cgroups under it
#   LOG_DIR         the worker's components log to files there, not stdout
set -euo pipefail

role="${1:-}"
shift || true
app=/opt/nanokube/current/app
export PATH="/opt/nanokube/current/bin:/usr/local/bin:/usr/local/sbin:/usr/sbin:/usr/bin:/sbin:/bin"

say() { echo "lab $role: $*" >&2; }
die() {
  say "$*"
  exit 1
}

# The address this container has on the lab network.
own_ip() { ip -4 -o addr show dev eth0 | awk '{ split($4, a, "/"); print a[1]; exit }'; }

# flags_of ROLE VAR: the flags ROLE runs with into the array VAR, from the one
# builder of the components' command lines (lab/command-line.ts reads the
# settings above from the environment, and NODE_NAME, NODE_IP, ETCD_DATA_DIR).
flags_of() {
  local out
  out="$(node "$app/dist/lab/main.js" command-line "$1")" || die "no command line for $1"
  mapfile -t "$2" <<<"$out"
}

# etcd's PKI (the pki role makes it): a CA of etcd's own, as kubeadm has, that
# signs the members' serving and peer certificates and the apiservers' client
# certificate; etcd trusts nothing else.
pki=/pki

case "$role" in
  pki)
    node --input-type=module -e "
      const { ensureEtcdPki } = await import('$app/dist/cli/cluster-pki.js');
      await ensureEtcdPki('$pki', {
        name: 'etcd',
        sans: ['DNS:etcd-1', 'DNS:etcd-2', 'DNS:etcd-3', 'DNS:localhost', 'IP:127.0.0.1'],
      });
    "
    say "etcd's CA and certificates are in $pki"
    ;;

  etcd)
    name="$(hostname)"
    data=/var/lib/etcd/data
    # A snapshot at /backup/restore.db seeds a member whose data is gone
    # (the restore drill: every member is recreated empty, then restored).
    if [[ ! -d $data/member && -f /backup/restore.db ]]; then
      say "restoring from /backup/restore.db"
      rm -rf "$data"
      ETCDCTL_API=3 etcdctl snapshot restore /backup/restore.db --name "$name" \
        --data-dir "$data" --initial-cluster "$ETCD_CLUSTER" \
        --initial-cluster-token nanokube-lab --initial-advertise-peer-urls "https://$name:2380"
    fi
    NODE_NAME="$name" ETCD_DATA_DIR="$data" flags_of etcd flags
    exec etcd "${flags[@]}" "$@"
    ;;

  apiserver)
    NODE_IP="$(own_ip)" flags_of apiserver flags
    exec node "$app/dist/apiserver/main.js" "${flags[@]}" "$@"
    ;;

  balancer)
    cfg=/run/haproxy.cfg
    {
      cat <<CFG
global
  maxconn 4096
defaults
  mode tcp
  timeout connect 2s
  timeout client 1h
  timeout server 1h
  timeout tunnel 1h
  retries 3
  option redispatch
  default-server inter 1s fall 2 rise 1 on-marked-down shutdown-sessions
frontend apiserver
  bind 0.0.0.0:6443
  default_backend apiservers
backend apiservers
  balance roundrobin
  option httpchk GET /readyz
CFG
      i=0
      for server in ${APISERVERS//,/ }; do
        i=$((i + 1))
        echo "  server apiserver-$i $server check resolvers docker init-addr last,libc,none"
      done
      cat <<CFG
resolvers docker
  nameserver dns 127.0.0.11:53
  hold valid 1s
CFG
    } >"$cfg"
    exec haproxy -W -db -f "$cfg"
    ;;

  controller-manager)
    flags_of controller-manager flags
    exec node "$app/dist/controller-manager/main.js" "${flags[@]}" "$@"
    ;;

  scheduler)
    flags_of scheduler flags
    exec node "$app/dist/scheduler/main.js" "${flags[@]}" "$@"
    ;;

  worker)
    node_name="$(hostname)"
    ip="$(own_ip)"
    mkdir -p /var/log/nanokube
    # Docker mounts /proc/sys read-only in containers; the engine and
    # kube-proxy set sysctls of this container's own network namespace.
    # (`docker run --security-opt systempaths=unconfined` does the same; it
    # is a client-side option Compose does not pass on.)
    if ! (: >>/proc/sys/net/ipv4/ip_forward) 2>/dev/null; then
      mount -o remount,rw /proc/sys 2>/dev/null || mount -o remount,bind,rw /proc/sys 2>/dev/null ||
        say "warning: /proc/sys stays read-only"
    fi
    # /sys too: the kubelet turns on hairpin mode on its bridge ports there.
    if [[ ! -w /sys/class/net ]] || ! touch /sys/class/net 2>/dev/null; then
      mount -o remount,rw /sys 2>/dev/null || say "warning: /sys stays read-only (no hairpin mode)"
    fi
    # Docker inside this container: its own engine and images. vfs works on
    # any backing filesystem (overlay on overlay does not); --bridge=none
    # because pods get the kubelet's own network.
    rm -f /var/run/docker.pid /var/run/docker.sock
    dockerd --storage-driver="${DOCKER_STORAGE_DRIVER:-vfs}" --bridge=none \
      --cgroup-parent="${CGROUP_PARENT:-/nanokube-lab/$node_name}" >/var/log/nanokube/dockerd.log 2>&1 &
    for _ in $(seq 1 60); do
      docker info >/dev/null 2>&1 && break
      sleep 1
    done
    docker info >/dev/null 2>&1 || die "dockerd did not answer within 60s: $(tail -5 /var/log/nanokube/dockerd.log)"
    NK_PAUSE_BINARY=/opt/nanokube/current/bin/pause bash "$app/deploy/images/build.sh" >&2
    # Logs go to the container's output, or to files in LOG_DIR when set
    # (nkctl up --nodes mounts its log folder there).
    out() { if [[ -n ${LOG_DIR:-} ]]; then echo "$LOG_DIR/$1.log"; else echo /proc/self/fd/1; fi; }
    # With PKI_DIR (nkctl up mounts the node's certificates there): TLS and
    # client certificates both ways; else plain HTTP to MASTER.
    # With a bootstrap kubeconfig there, the node joins as kubeadm join does:
    # its kubelet asks for its own certificate, and kube-proxy then uses it.
    NODE_NAME="$node_name" NODE_IP="$ip" flags_of kube-proxy proxy_flags
    NODE_NAME="$node_name" NODE_IP="$ip" flags_of kubelet kubelet_flags
    # A joining node's kube-proxy waits for the kubelet's certificate: the
    # kubeconfig it uses is the one the kubelet writes then.
    wait_for=""
    if [[ " ${kubelet_flags[*]} " == *" --bootstrap-kubeconfig "* ]]; then
      for i in "${!proxy_flags[@]}"; do
        if [[ ${proxy_flags[i]} == --kubeconfig ]]; then wait_for="${proxy_flags[i + 1]}"; fi
      done
    fi
    mkdir -p /var/lib/nanokube
    (
      if [[ -n $wait_for ]]; then until [[ -f $wait_for ]]; do sleep 1; done; fi
      exec node "$app/dist/kube-proxy/main.js" "${proxy_flags[@]}"
    ) >>"$(out kube-proxy)" 2>&1 &
    node "$app/dist/kubelet/main.js" "${kubelet_flags[@]}" "$@" >>"$(out kubelet)" 2>&1 &
    # If either ends, end the container so its restart policy starts it again.
    wait -n
    rc=$?
    say "a component ended (exit $rc); stopping"
    kill $(jobs -p) 2>/dev/null || true
    exit "$rc"
    ;;

  kubeconfig)
    export KUBECONFIG=/kube/config
    node --input-type=module -e "
      import { kubeconfigYaml } from '$app/dist/client/kubeconfig.js';
      import { mergeKubeconfig } from '$app/dist/cli/kubeconfig-file.js';
      const path = mergeKubeconfig(undefined, kubeconfigYaml({ server: process.env.SERVER, name: 'nanokube-lab' }), 'nanokube-lab');
      console.log('kubeconfig: context nanokube-lab (' + process.env.SERVER + ') in ' + path);
    "
    if [[ -n ${KUBE_OWNER:-} ]]; then chown "$KUBE_OWNER" /kube /kube/config 2>/dev/null || true; fi
    ;;

  addons)
    for _ in $(seq 1 120); do
      node "$app/dist/cli/main.js" --server "$MASTER" get nodes >/dev/null 2>&1 && break
      sleep 1
    done
    node "$app/dist/cli/main.js" --server "$MASTER" apply -f "$app/deploy/manifests"
    ;;

  *)
    die "unknown role \"$role\" (pki, etcd, apiserver, balancer, controller-manager, scheduler, worker, kubeconfig, addons)"
    ;;
esac
