#!/usr/bin/env bash
# Builds the Debian packages (elevate, libpam-elevate, libnss-elevate) from
# this tree with dpkg-buildpackage, the way a distribution would: a staged
# copy of the source with packaging/debian as debian/, hardening=+all, then
# lintian over the result. The .debs land in OUT (default build/deb).
#
#   scripts/build-deb.sh [--out DIR] [--version VERSION] [--no-lintian]
#
# --version adds a changelog entry, so a rebuilt newer package can be
# installed over this one (the upgrade test does that).
set -euo pipefail
cd "$(dirname "$0")/.."
src=$PWD
out=$src/build/deb
version=
lintian=1
while [ $# -gt 0 ]; do
  case $1 in
    --out) out=$(realpath -m "$2"); shift 2 ;;
    --version) version=$2; shift 2 ;;
    --no-lintian) lintian=0; shift ;;
    -h|--help) sed -n '2,10s/^# \{0,1\}//p' "$0"; exit 0 ;;
    *) echo "build-deb.sh: unknown argument: $1" >&2; exit 2 ;;
  esac
done

# Always the same staging path, so that ccache serves a rebuild (the
# compiler's command line holds the source path).
top=$src/build/deb-stage
stage=$top/elevate
rm -rf "$top" "$out"
mkdir -p "$stage" "$out"
# The tree without build output or VCS metadata; a tarball without .git
# builds the same.
tar -C "$src" --exclude=./build --exclude='./build*' --exclude=./.git -cf - . | tar -C "$stage" -xf -
rm -rf "$stage/debian"
cp -a "$stage/packaging/debian" "$stage/debian"
if [ -n "$version" ]; then
  entry=$(printf 'elevate (%s) unstable; urgency=medium\n\n  * Rebuild.\n\n -- %s  %s\n\n' \
    "$version" "$(sed -n 's/^ -- \(.*>\)  .*/\1/p' "$stage/debian/changelog" | head -1)" "$(date -R)")
  printf '%s\n' "$entry" | cat - "$stage/debian/changelog" > "$stage/debian/changelog.new"
  mv "$stage/debian/changelog.new" "$stage/debian/changelog"
fi

# ccache, when present, makes the rebuild of an unchanged tree quick; the
# packages are the same either way.
# debhelper 13 gives the build a HOME of its own, so the cache directory is
# named here.
if command -v ccache >/dev/null; then
  export CMAKE_C_COMPILER_LAUNCHER=ccache CMAKE_CXX_COMPILER_LAUNCHER=ccache CCACHE_BASEDIR=$top
  CCACHE_DIR=${CCACHE_DIR:-$(ccache -k cache_dir)}
  export CCACHE_DIR
fi
export DEB_BUILD_MAINT_OPTIONS=hardening=+all
export DEB_BUILD_OPTIONS="parallel=$(nproc) ${DEB_BUILD_OPTIONS:-}"
(cd "$stage" && dpkg-buildpackage -us -uc -b)
# dpkg-buildpackage writes beside the source; nothing else is there.
mv "$top"/*.deb "$top"/*.changes "$top"/*.buildinfo "$out"/
rm -rf "$top"

ls -1 "$out"/*.deb
if [ "$lintian" = 1 ]; then
  # Errors and warnings fail the build; each accepted tag has an override
  # with its reason in packaging/debian/*.lintian-overrides.
  lintian --fail-on error,warning --info "$out"/*.changes
fi
