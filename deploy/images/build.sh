#!/usr/bin/env bash
# Builds the images nanokube's kubelet and tests use, offline, into the local
# Docker engine (no registry is needed or contacted):
#
#   nanokube/pause:1     the pod sandbox: a static C binary (pause/pause.c) that
#                        sleeps until SIGTERM/SIGINT and reaps zombies, FROM scratch
#   nanokube/busybox:1   busybox-static with its applet links (sh, sleep, nc,
#                        httpd, cat, ...); its wget crashes in a container, use nc
#   nanokube/nanokube:1  the project itself: the node binary it runs on with the
#                        libraries it links, dist/ and the production
#                        node_modules under /app (cluster DNS runs from it);
#                        rebuilt when dist/ or the lock file changed, skipped
#                        until `npm run build` has made dist/
#
#   nanokube/lab:1       with --lab: the docker-compose lab's image (every
#                        role: etcd, apiserver, HAProxy, controllers, a worker
#                        with its own Docker engine), from
#                        deploy/images/lab/Dockerfile on debian:bookworm-slim;
#                        where that base image cannot be pulled, it is made
#                        here with debootstrap (needs root)
#
#   nanokube/vm:1        with --vm: the lab image with systemd as PID 1 and
#                        without nanokube: a fresh "VM" for deploy/install.sh
#                        (the VM e2e tests; deploy/images/vm/Dockerfile)
#
#   bash deploy/images/build.sh [--force] [--lab] [--vm]
#
# Safe to run again: an image that already exists is skipped (--force
# rebuilds). Needs gcc with static glibc (libc6-dev) and busybox-static;
# deploy/setup.sh --with-docker installs them and runs this.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
force=0
lab=0
vm=0
for arg in "$@"; do
  case "$arg" in
    --force) force=1 ;;
    --lab) lab=1 ;;
    --vm) vm=1 ;;
    -h | --help)
      sed -n '2,30p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
      exit 0
      ;;
    *)
      echo "images: unknown flag $arg (try --help)" >&2
      exit 2
      ;;
  esac
done

say() { echo "images: $*"; }
die() {
  echo "images: $*" >&2
  exit 1
}

have_image() { [[ $force -eq 0 ]] && docker image inspect "$1" >/dev/null 2>&1; }

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# compile_pause and copy_production_modules
# shellcheck source=deploy/lib.sh
source "$here/../lib.sh"
use_project_node "$(cd "$here/../.." && pwd)"

build_pause() {
  local image=nanokube/pause:1
  if have_image "$image"; then
    say "$image exists"
    return
  fi
  mkdir -p "$work/pause"
  compile_pause "$work/pause/pause"
  tar -C "$work/pause" -c . | docker import \
    --change 'ENTRYPOINT ["/pause"]' --change 'USER 65535:65535' \
    --message 'nanokube pod sandbox' - "$image" >/dev/null
  say "built $image"
}

build_busybox() {
  local image=nanokube/busybox:1 bb=/bin/busybox root="$work/busybox"
  if have_image "$image"; then
    say "$image exists"
    return
  fi
  [[ -x $bb ]] || die "$bb is missing (apt-get install busybox-static)"
  mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,etc,tmp,root,var,proc,sys,dev,home}
  chmod 1777 "$root/tmp"
  cp "$bb" "$root/bin/busybox"
  # --list-full gives each applet with the folder it belongs in (bin/sh, usr/bin/nc, ...).
  local applet
  while read -r applet; do
    [[ -n $applet && ! -e $root/$applet ]] && ln -s /bin/busybox "$root/$applet"
  done < <("$bb" --list-full)
  printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/home:/bin/false\n' >"$root/etc/passwd"
  printf 'root:x:0:\nnogroup:x:65534:\n' >"$root/etc/group"
  tar -C "$root" -c . | docker import \
    --change 'CMD ["sh"]' --change 'ENV PATH=/usr/sbin:/usr/bin:/sbin:/bin' \
    --message 'nanokube busybox' - "$image" >/dev/null
  say "built $image"
}

build_nanokube() {
  local image=nanokube/nanokube:1 repo root="$work/nanokube" node hash lib
  repo="$(cd "$here/../.." && pwd)"
  if [[ ! -f $repo/dist/dns/main.js ]]; then
    say "$image skipped: no dist/ yet (npm run build)"
    return
  fi
  node="$(readlink -f "$(command -v node)")"
  hash="$(cd "$repo" && { find dist -type f -print0 | sort -z | xargs -0 sha256sum; sha256sum package-lock.json; sha256sum "$node"; } | sha256sum | cut -c1-16)"
  if [[ $force -eq 0 && "$(docker image inspect -f '{{ index .Config.Labels "nanokube.io/source-hash" }}' "$image" 2>/dev/null)" == "$hash" ]]; then
    say "$image is current"
    return
  fi
  mkdir -p "$root"/{usr/local/bin,etc,tmp,app}
  chmod 1777 "$root/tmp"
  cp "$node" "$root/usr/local/bin/node"
  # The dynamic loader and every library node links, at the same paths.
  while read -r lib; do
    [[ -n $lib && -f $lib ]] && cp --parents -L "$lib" "$root"
  done < <(ldd "$node" | grep -oE '/[^ ]+')
  (cd "$repo" && cp -a --parents package.json dist "$root/app")
  copy_production_modules "$repo" "$root/app"
  printf 'root:x:0:0:root:/root:/bin/false\nnobody:x:65534:65534:nobody:/:/bin/false\n' >"$root/etc/passwd"
  printf 'root:x:0:\nnogroup:x:65534:\n' >"$root/etc/group"
  tar -C "$root" -c . | docker import \
    --change 'ENTRYPOINT ["/usr/local/bin/node"]' --change 'WORKDIR /app' \
    --change 'ENV PATH=/usr/local/bin:/usr/bin:/bin NODE_ENV=production' \
    --change "LABEL nanokube.io/source-hash=$hash" \
    --message 'nanokube components' - "$image" >/dev/null
  say "built $image ($(docker image inspect -f '{{ .Size }}' "$image" | awk '{ printf "%d MB", $1 / 1e6 }'))"
}

# The lab's base image: there already, or pulled, or (offline) a Debian
# minbase made with debootstrap from Debian's mirror and imported under the
# same name, so the Dockerfile builds unchanged either way.
ensure_base() {
  local image="$1" suite root
  if docker image inspect "$image" >/dev/null 2>&1; then
    say "$image exists"
    return
  fi
  say "pulling $image"
  if timeout 120 docker pull -q "$image" >/dev/null 2>&1; then
    say "pulled $image"
    return
  fi
  [[ $image == debian:* ]] || die "$image cannot be pulled, and only a debian:SUITE[-slim] base can be made here"
  suite="${image#debian:}"
  suite="${suite%-slim}"
  say "$image cannot be pulled: making it with debootstrap ($suite, about a minute)"
  [[ $EUID -eq 0 ]] || die "debootstrap needs root (run this as root)"
  if ! command -v debootstrap >/dev/null 2>&1; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends debootstrap >/dev/null ||
      die "could not install debootstrap"
  fi
  root="$work/base"
  debootstrap --variant=minbase "$suite" "$root" "${NK_DEBIAN_MIRROR:-http://deb.debian.org/debian}" \
    >"$work/debootstrap.log" 2>&1 || die "debootstrap failed: $(tail -3 "$work/debootstrap.log")"
  rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/*
  tar -C "$root" -c . | docker import --change 'CMD ["bash"]' --message "debootstrap $suite minbase" - "$image" >/dev/null
  say "built $image"
}

build_lab() {
  local image=nanokube/lab:1 repo ctx node hash base="${NK_LAB_BASE:-debian:bookworm-slim}"
  repo="$(cd "$here/../.." && pwd)"
  [[ -f $repo/dist/apiserver/main.js ]] || die "$image needs dist/ (npm run build)"
  node="$(readlink -f "$(command -v node)")"
  hash="$(cd "$repo" && { find dist deploy -type f -print0 | sort -z | xargs -0 sha256sum; sha256sum package-lock.json; sha256sum "$node"; echo "$base"; } | sha256sum | cut -c1-16)"
  if [[ $force -eq 0 && "$(docker image inspect -f '{{ index .Config.Labels "nanokube.io/source-hash" }}' "$image" 2>/dev/null)" == "$hash" ]]; then
    say "$image is current"
    return
  fi
  ensure_base "$base"
  ctx="$work/lab"
  mkdir -p "$ctx"
  # The lab installs nanokube as a VM does: from a release, with install.sh.
  cp "$(bash "$repo/deploy/release.sh")" "$ctx/nanokube.tar.gz"
  say "building $image from deploy/images/lab/Dockerfile on $base"
  DOCKER_BUILDKIT=0 docker build -q --build-arg "BASE=$base" --label "nanokube.io/source-hash=$hash" \
    -t "$image" -f "$here/lab/Dockerfile" "$ctx" >"$work/build.log" 2>&1 ||
    die "docker build failed: $(tail -20 "$work/build.log")"
  say "built $image ($(docker image inspect -f '{{ .Size }}' "$image" | awk '{ printf "%d MB", $1 / 1e6 }'))"
}

# nanokube/vm:1 (--vm): the lab image with systemd and without nanokube, a
# fresh "VM" for install.sh (deploy/images/vm/Dockerfile).
build_vm() {
  local image=nanokube/vm:1 hash
  build_lab
  hash="$(docker image inspect -f '{{ .Id }}' nanokube/lab:1)-$(cat "$here/vm/"* | sha256sum | cut -c1-16)"
  if [[ $force -eq 0 && "$(docker image inspect -f '{{ index .Config.Labels "nanokube.io/source-hash" }}' "$image" 2>/dev/null)" == "$hash" ]]; then
    say "$image is current"
    return
  fi
  say "building $image from deploy/images/vm/Dockerfile"
  DOCKER_BUILDKIT=0 docker build -q --label "nanokube.io/source-hash=$hash" \
    -t "$image" "$here/vm" >"$work/build-vm.log" 2>&1 ||
    die "docker build failed: $(tail -20 "$work/build-vm.log")"
  say "built $image"
}

docker info >/dev/null 2>&1 || die "docker does not answer (bash deploy/setup.sh --with-docker starts it)"
build_pause
build_busybox
build_nanokube
if [[ $vm -eq 1 ]]; then
  build_vm
elif [[ $lab -eq 1 ]]; then
  build_lab
fi
