#!/usr/bin/env bash
# Builds a release tarball: everything a Debian/Ubuntu machine needs to run
# nanokube, for deploy/install.sh (docs/vms.md), with no registry and no
# npm on that machine.
#
#   bash deploy/release.sh [--out DIR]      # or: npm run release
#
# release/nanokube-VERSION-linux-ARCH.tar.gz holds one folder, nanokube/:
#   install.sh          deploy/install.sh, to run from the unpacked folder
#   VERSION             package.json's version and a hash of what is inside
#   bin/node            the Node.js the project runs on (.node/ from setup, else the host's)
#   bin/pause           the pod sandbox's static binary
#   app/                package.json, dist/, deploy/ and the production node_modules
#
# app/dist/ is compiled here from tsconfig.build.json, what ships: no unit
# test, no test support (testing/), no e2e/ or bench/.
#
# NK_RELEASE_VERSION sets VERSION (an upgrade drill makes a second release).
# Needs the dev dependencies installed (tsc) and gcc with static glibc.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
out="$repo/release"
say() { echo "release: $*" >&2; }
die() {
  echo "release: $*" >&2
  exit 1
}
while [[ $# -gt 0 ]]; do
  case "$1" in
    --out)
      [[ $# -ge 2 ]] || die "--out needs a folder"
      out="$2"
      shift
      ;;
    -h | --help)
      sed -n '2,19p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
      exit 0
      ;;
    *)
      echo "release: unknown flag $1 (try --help)" >&2
      exit 2
      ;;
  esac
  shift
done

# shellcheck source=deploy/lib.sh
source "$repo/deploy/lib.sh"
use_project_node "$repo"

node="$(readlink -f "$(command -v node)")"
arch="$(uname -m | sed 's/x86_64/x64/; s/aarch64/arm64/')"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
root="$work/nanokube"
mkdir -p "$root/bin" "$root/app"
"$repo/node_modules/.bin/tsc" -p "$repo/tsconfig.build.json" --outDir "$root/app/dist" ||
  die "tsc -p tsconfig.build.json failed"
hash="$({
  (cd "$root/app" && find dist -type f -print0 | sort -z | xargs -0 sha256sum)
  (cd "$repo" && find deploy -type f -print0 | sort -z | xargs -0 sha256sum)
  (cd "$repo" && sha256sum package-lock.json "$node")
} | sha256sum | cut -c1-12)"
version="${NK_RELEASE_VERSION:-$(node -p 'require(process.argv[1]).version' "$repo/package.json")-$hash}"
file="$out/nanokube-$version-linux-$arch.tar.gz"
if [[ -f $file ]]; then
  say "$file is current"
  echo "$file"
  exit 0
fi

cp "$node" "$root/bin/node"
compile_pause "$root/bin/pause"
cp "$repo/deploy/install.sh" "$root/install.sh"
echo "$version" >"$root/VERSION"
(cd "$repo" && cp -a package.json deploy "$root/app/")
copy_production_modules "$repo" "$root/app"
mkdir -p "$out"
tar -C "$work" -czf "$file.part" nanokube
mv "$file.part" "$file"
say "built $file ($(du -m "$file" | cut -f1) MB)"
echo "$file"
