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
log_level="${LOG_LEVEL:-info}"

say() { echo "lab $role: $*" >&2; }
die() {
  say "$*"
  exit 1
}

# The address this container has on the lab network.
own_ip() { ip -4 -o addr show dev eth0 | awk '{ split($4, a, "/"); print a[1]; exit }'; }

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
    exec etcd --name "$name" --data-dir "$data" \
      --listen-client-urls https://0.0.0.0:2379 --advertise-client-urls "https://$name:2379" \
      --listen-peer-urls https://0.0.0.0:2380 --initial-advertise-peer-urls "https://$name:2380" \
      --cert-file "$pki/etcd-server.crt" --key-file "$pki/etcd-server.key" \
      --client-cert-auth --trusted-ca-file "$pki/etcd/ca.crt" \
      --peer-cert-file "$pki/etcd-peer.crt" --peer-key-file "$pki/etcd-peer.key" \
      --peer-client-cert-auth --peer-trusted-ca-file "$pki/etcd/ca.crt" \
      --initial-cluster "$ETCD_CLUSTER" --initial-cluster-token nanokube-lab \
      --initial-cluster-state new --logger zap "$@"
    ;;

  apiserver)
    exec node "$app/dist/apiserver/main.js" --etcd-servers "$ETCD_SERVERS" \
      --etcd-cafile "$pki/etcd/ca.crt" \
      --etcd-certfile "$pki/apiserver-etcd-client.crt" --etcd-keyfile "$pki/apiserver-etcd-client.key" \
      --bind-address 0.0.0.0 --port 8080 --advertise-address "$(own_ip)" --log-level "$log_level" "$@"
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
    exec node "$app/dist/controller-manager/main.js" --master "$MASTER" \
      --node-monitor-grace-period "${NODE_MONITOR_GRACE_PERIOD:-40s}" \
      --bind-address 0.0.0.0 --log-level "$log_level" "$@"
    ;;

  scheduler)
    exec node "$app/dist/scheduler/main.js" --master "$MASTER" \
      --bind-address 0.0.0.0 --log-level "$log_level" "$@"
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
    if [[ -n ${PKI_DIR:-} && -f $PKI_DIR/bootstrap-kubelet.kubeconfig ]]; then
      joined=/var/lib/nanokube/kubelet.kubeconfig
      proxy_api=(--kubeconfig "$joined")
      kubelet_api=(--bootstrap-kubeconfig "$PKI_DIR/bootstrap-kubelet.kubeconfig" --kubeconfig "$joined"
        --cert-dir /var/lib/nanokube/pki --client-ca-file "$PKI_DIR/ca.crt" --authorization-mode Webhook)
    elif [[ -n ${PKI_DIR:-} ]]; then
      proxy_api=(--kubeconfig "$PKI_DIR/kube-proxy.kubeconfig")
      kubelet_api=(--kubeconfig "$PKI_DIR/kubelet.kubeconfig"
        --tls-cert-file "$PKI_DIR/kubelet.crt" --tls-private-key-file "$PKI_DIR/kubelet.key"
        --client-ca-file "$PKI_DIR/ca.crt" --authorization-mode Webhook)
    else
      proxy_api=(--master "$MASTER")
      kubelet_api=(--master "$MASTER")
    fi
    mkdir -p /var/lib/nanokube
    (
      # A joining node's kube-proxy waits for the kubelet's certificate.
      if [[ -n ${joined:-} ]]; then until [[ -f $joined ]]; do sleep 1; done; fi
      exec node "$app/dist/kube-proxy/main.js" "${proxy_api[@]}" --node-name "$node_name" \
        --healthz-bind-address 0.0.0.0:10256 --log-level "$log_level"
    ) >>"$(out kube-proxy)" 2>&1 &
    node "$app/dist/kubelet/main.js" "${kubelet_api[@]}" --node-name "$node_name" \
      --node-ip "$ip" --address "$ip" --healthz-bind-address 0.0.0.0 \
      --log-level "$log_level" "$@" >>"$(out kubelet)" 2>&1 &
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
