# Shell functions shared by the deploy scripts (sourced, not run). Callers
# define say and die.

# --- Node.js ------------------------------------------------------------------
# nanokube runs on Node.js 24. Where the host's node is older than 22,
# deploy/setup.sh installs the official Node.js binary of the version below
# into the checkout's .node/ folder (never over the system's node). It comes
# from the npm registry's node-linux-ARCH package, the only registry these
# machines reach, and its tarball is checked against the sha512 pinned here,
# as npm ci checks the lock file's. Every script then puts .node/bin first
# on its PATH (use_project_node), and npm scripts find it as
# node_modules/.bin/node.
nk_node_version=24.22.3

# node_pin VERSION ARCH: the integrity of node-linux-ARCH@VERSION on the registry.
node_pin() {
  case "$1 $2" in
    "24.22.3 x64") echo 'sha512-KHsob+Fv9YerATvYujMbiyJqnRCvLtrcr/eTNqRqiOSGp97EOiRP1yP47+knGgQ/xnc3XY8xzkW587dlZzNqRA==' ;;
    "24.22.3 arm64") echo 'sha512-IZx0J52/1NDwAsY2iyWR9nlPIYuYviTWetjj8+ElvYQh2+XRhLfCfkbFEF/2O5vGI2hcUbyPNHV+nz342FbJXw==' ;;
    # The oldest major nanokube supports; CI runs the unit tests on it too.
    "22.23.5 x64") echo 'sha512-3jhC+wcoWxKZxcRqF2sUSl0c9HEXFnur/nuIPx6O6CWKV0jOUWQm7Htw5SuXqqlMCEhi0cJqybFPEb5hhcBiMw==' ;;
    "22.23.5 arm64") echo 'sha512-e1LOUGKVruPGuLVutn8+Cgm5pI1APm4Kvh+zbb/qe/ZpD9s+TQby5iUgZOWmPpbSKpj0Td8DP1N0NEnXasHizg==' ;;
    *) return 1 ;;
  esac
}

# install_node VERSION DIR: Node.js VERSION in DIR (DIR/bin/node, and its
# headers in DIR/include for native modules). Nothing to do when DIR has it.
# Needs npm and a node of any version to fetch and check the package.
install_node() {
  local version="$1" dir="$2" arch pin tmp tgz sum
  if [[ "$("$dir/bin/node" --version 2>/dev/null)" == "v$version" ]]; then
    return 0
  fi
  arch="$(uname -m | sed 's/x86_64/x64/; s/aarch64/arm64/')"
  pin="$(node_pin "$version" "$arch")" || die "no pinned Node.js $version for $arch (deploy/lib.sh)"
  command -v npm >/dev/null 2>&1 || die "npm is needed to fetch Node.js $version"
  tmp="$(mktemp -d)"
  if ! (cd "$tmp" && npm pack --silent --no-audit --no-fund "node-linux-$arch@$version" >/dev/null); then
    rm -rf "$tmp"
    die "could not fetch node-linux-$arch@$version from the npm registry"
  fi
  tgz="$tmp/node-linux-$arch-$version.tgz"
  sum="sha512-$(node -p 'require("crypto").createHash("sha512").update(require("fs").readFileSync(process.argv[1])).digest("base64")' "$tgz")"
  if [[ $sum != "$pin" ]]; then
    rm -rf "$tmp"
    die "node-linux-$arch@$version does not match its pinned sha512 (got $sum)"
  fi
  rm -rf "$dir.part"
  mkdir -p "$dir.part"
  tar -xzf "$tgz" -C "$dir.part" --strip-components=1 --no-same-owner
  rm -rf "$tmp" "$dir"
  mv "$dir.part" "$dir"
}

# use_project_node REPO: REPO/.node/bin first on PATH, when setup installed Node.js there.
use_project_node() {
  if [[ -x $1/.node/bin/node ]]; then
    case ":$PATH:" in
      *":$1/.node/bin:"*) ;;
      *) export PATH="$1/.node/bin:$PATH" ;;
    esac
  fi
  return 0
}

# --- Images and releases ---------------------------------------------------------

# compile_pause OUT: the pod sandbox's binary (deploy/images/pause/pause.c),
# statically linked; NK_PAUSE_BINARY, when set, is copied instead (a release
# and the lab image carry one built beforehand, and no compiler).
compile_pause() {
  local deploy
  deploy="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
  if [[ -n ${NK_PAUSE_BINARY:-} ]]; then
    cp "$NK_PAUSE_BINARY" "$1"
    return
  fi
  command -v gcc >/dev/null 2>&1 || die "gcc is needed to build the pause binary"
  gcc -static -Os -s -Wall -Werror -o "$1" "$deploy/images/pause/pause.c" ||
    die "could not compile pause.c statically (is libc6-dev installed?)"
}

# copy_production_modules FROM TO: the production node_modules of FROM into
# TO (keeping paths). Where npm is missing (an installed release), FROM's
# node_modules holds nothing else and is copied whole.
copy_production_modules() {
  local from="$1" to="$2" dep
  if ! command -v npm >/dev/null 2>&1; then
    cp -a "$from/node_modules" "$to/"
    return
  fi
  while read -r dep; do
    (cd "$from" && cp -a --parents "${dep#"$from"/}" "$to")
  done < <(cd "$from" && npm ls --omit=dev --all --parseable 2>/dev/null | tail -n +2)
}
