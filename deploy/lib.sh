# Shell functions shared by deploy/images/build.sh and deploy/release.sh
# (sourced, not run). Each needs `here` set to deploy/images by its caller
# only where it says so.

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
