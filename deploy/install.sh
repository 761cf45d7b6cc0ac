#!/usr/bin/env bash
# Installs nanokube on a Debian or Ubuntu machine booted with systemd, from a
# release (deploy/release.sh makes one; docs/vms.md walks through it).
#
#   bash install.sh --role master --init                  the first master
#   bash install.sh --role master --join URL --token T --ca-cert-hash H --certificate-key K
#   bash install.sh --role worker --join URL --token T --ca-cert-hash H
#   bash install.sh --upgrade                             onto the release it is run from
#   bash install.sh --uninstall                           removes everything it made
#
# Run it as root from the unpacked release (nanokube/install.sh), or with
# --release FILE.tar.gz. It installs the Debian packages a role needs (Docker,
# etcd on masters, iptables, conntrack, openssl) unless they are there, puts
# the release in /opt/nanokube/releases/VERSION with /opt/nanokube/current
# pointing at it, makes /usr/local/bin/nkctl, and hands the rest to
# `nkctl install` with the same flags: certificates, systemd units
# (deploy/systemd) with their flags in /etc/nanokube/NAME.env, and joining.
# Safe to run again.
#
#   --prepare    only the packages (every role's) and the release: for images
#                and VM templates; starts nothing and needs no systemd
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
opt=/opt/nanokube
state=/var/lib/nanokube
release=""
role=""
mode=""
pass=()

# Run on exit, whatever the exit (exec included: nothing is left to clean by then).
cleanups=()
cleanup() {
  local c
  for c in "${cleanups[@]}"; do eval "$c"; done
}
trap cleanup EXIT

say() { echo "install: $*" >&2; }
die() {
  echo "install: $*" >&2
  exit 1
}

while [[ $# -gt 0 ]]; do
  case "$1" in
    -h | --help)
      sed -n '2,21p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
      exit 0
      ;;
    --release)
      [[ $# -ge 2 ]] || die "--release needs a file"
      release="$2"
      shift
      ;;
    --prepare) mode=prepare ;;
    --upgrade | --uninstall)
      mode="${1#--}"
      pass+=("$1")
      ;;
    --role)
      [[ $# -ge 2 ]] || die "--role needs master or worker"
      role="$2"
      pass+=("$1" "$2")
      shift
      ;;
    --init | --join) [[ -n $mode ]] || mode=install ;;&
    --init) pass+=("$1") ;;
    --join | --token | --ca-cert-hash | --certificate-key | --node-name | --node-ip | --control-plane-endpoint | --snapshots-kept)
      [[ $# -ge 2 ]] || die "$1 needs a value"
      pass+=("$1" "$2")
      shift
      ;;
    *) die "unknown flag $1 (try --help)" ;;
  esac
  shift
done
[[ -n $mode ]] || die "give --role with --init or --join, or --upgrade, --uninstall or --prepare (try --help)"
[[ $EUID -eq 0 ]] || die "run it as root (sudo bash install.sh ...)"

# --- packages ---------------------------------------------------------------

# What each role needs; --prepare installs them all.
node_packages=(docker.io iptables iproute2 conntrack openssl ca-certificates busybox-static curl)
master_packages=(etcd-server etcd-client)

# A package is there when dpkg says it is installed; Docker also when another
# package (Docker's own docker-ce) brought dockerd.
have_package() {
  [[ $1 == docker.io ]] && command -v dockerd >/dev/null 2>&1 && return 0
  dpkg-query -W -f '${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'
}

install_packages() {
  local missing=() p
  for p in "$@"; do have_package "$p" || missing+=("$p"); done
  [[ ${#missing[@]} -eq 0 ]] && return
  command -v apt-get >/dev/null 2>&1 || die "need ${missing[*]}, and this machine has no apt-get (Debian or Ubuntu only)"
  # Packages like etcd-server start their daemon on install; the units here run it.
  if [[ ! -e /usr/sbin/policy-rc.d ]]; then
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
    chmod 755 /usr/sbin/policy-rc.d
    # Removed however this script ends, or every later package would start no service.
    cleanups+=("rm -f /usr/sbin/policy-rc.d")
  fi
  say "apt-get install ${missing[*]}"
  DEBIAN_FRONTEND=noninteractive apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  # Remembered, so --uninstall removes what this script added and nothing else.
  mkdir -p "$state"
  printf '%s\n' "${missing[@]}" >>"$state/packages"
}

# --- the release ------------------------------------------------------------

# The unpacked release to install: --release's, or the folder this script is in.
find_release() {
  if [[ -n $release ]]; then
    [[ -f $release ]] || die "--release: $release does not exist"
    local unpacked
    unpacked="$(mktemp -d)"
    cleanups+=("rm -rf '$unpacked'")
    tar -C "$unpacked" -xzf "$release" || die "--release: $release is not a release tarball"
    [[ -f $unpacked/nanokube/VERSION ]] || die "--release: $release holds no nanokube/VERSION"
    echo "$unpacked/nanokube"
  elif [[ -f $here/VERSION && -x $here/bin/node && -d $here/app/dist ]]; then
    echo "$here"
  else
    die "run this from an unpacked release (nanokube/install.sh), or give --release FILE.tar.gz (npm run release makes one)"
  fi
}

# Puts the release in place (once per version); with `switch`, makes it current.
place_release() {
  local from="$1" switch="$2" version
  version="$(cat "$from/VERSION")"
  if [[ ! -d $opt/releases/$version ]]; then
    mkdir -p "$opt/releases"
    rm -rf "$opt/releases/.$version.part"
    cp -a "$from" "$opt/releases/.$version.part"
    mv "$opt/releases/.$version.part" "$opt/releases/$version"
    say "release $version is in $opt/releases/$version"
  fi
  if [[ $switch -eq 1 || ! -L $opt/current ]]; then
    [[ -L $opt/current ]] || rm -rf "$opt/current"
    ln -sfn "releases/$version" "$opt/current.new"
    mv -T "$opt/current.new" "$opt/current"
    say "$opt/current is release $version"
  fi
  cat >/usr/local/bin/nkctl <<'SH'
#!/bin/sh
exec /opt/nanokube/current/bin/node /opt/nanokube/current/app/dist/cli/main.js "$@"
SH
  chmod 755 /usr/local/bin/nkctl
}

case "$mode" in
  prepare)
    install_packages "${node_packages[@]}" "${master_packages[@]}"
    place_release "$(find_release)" 0
    say "prepared: packages and release in place; nothing started"
    ;;
  install)
    case "$role" in
      master) install_packages "${node_packages[@]}" "${master_packages[@]}" ;;
      worker) install_packages "${node_packages[@]}" ;;
      *) die "--role must be master or worker" ;;
    esac
    place_release "$(find_release)" 0
    exec /usr/local/bin/nkctl install "${pass[@]}"
    ;;
  upgrade)
    [[ -e $opt/current ]] || die "nanokube is not installed here: nothing to upgrade"
    place_release "$(find_release)" 1
    exec /usr/local/bin/nkctl install --upgrade
    ;;
  uninstall)
    added=()
    [[ -f $state/packages ]] && mapfile -t added <"$state/packages"
    if [[ -x /usr/local/bin/nkctl && -e $opt/current ]]; then
      /usr/local/bin/nkctl install --uninstall
    fi
    if [[ ${#added[@]} -gt 0 ]]; then
      say "apt-get purge ${added[*]}"
      DEBIAN_FRONTEND=noninteractive apt-get purge -y -qq "${added[@]}" >/dev/null || say "could not remove ${added[*]}"
    fi
    rm -rf "$opt" "$state" /usr/local/bin/nkctl
    say "uninstalled"
    ;;
esac
