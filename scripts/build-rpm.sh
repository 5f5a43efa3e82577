#!/usr/bin/env bash
# Builds the RPMs (elevate, elevate-pam, elevate-nss) from this tree with
# rpmbuild and packaging/rpm/elevate.spec, then runs rpmlint over them. The
# .rpms land in OUT (default build/rpm).
#
#   scripts/build-rpm.sh [--out DIR] [--no-rpmlint]
#
# On Debian, rpm has no RPM distribution's macros (systemd, cmake, build
# flags) and no RPM database of the build dependencies: the spec is built
# with packaging/rpm/macros.debian-host loaded and --nodeps (the Debian
# build dependencies, scripts/install-deps.sh, are the same libraries).
set -euo pipefail
cd "$(dirname "$0")/.."
src=$PWD
out=$src/build/rpm
rpmlint=1
while [ $# -gt 0 ]; do
  case $1 in
    --out) out=$(realpath -m "$2"); shift 2 ;;
    --no-rpmlint) rpmlint=0; shift ;;
    -h|--help) sed -n '2,11s/^# \{0,1\}//p' "$0"; exit 0 ;;
    *) echo "build-rpm.sh: unknown argument: $1" >&2; exit 2 ;;
  esac
done

spec=packaging/rpm/elevate.spec
version=$(sed -n 's/^Version:[[:space:]]*//p' "$spec")
# Always the same path, so that ccache serves a rebuild.
top=$src/build/rpm-stage
rm -rf "$top" "$out"
mkdir -p "$top/SOURCES" "$out"
tar -C "$src" --exclude=./build --exclude='./build*' --exclude=./.git \
  --transform "s,^\.,elevate-$version," -czf "$top/SOURCES/elevate-$version.tar.gz" .

args=(--define "_topdir $top" -bb "$spec")
if [ -z "$(rpm --eval '%{?_unitdir}')" ]; then
  args=(--load packaging/rpm/macros.debian-host --nodeps "${args[@]}")
fi
if command -v ccache >/dev/null; then
  export CMAKE_C_COMPILER_LAUNCHER=ccache CMAKE_CXX_COMPILER_LAUNCHER=ccache CCACHE_BASEDIR=$top
fi
rpmbuild ${ELEVATE_RPMBUILD_VERBOSE:---quiet} --define "_smp_mflags -j$(nproc)" "${args[@]}"
find "$top/RPMS" -name '*.rpm' -exec mv {} "$out"/ \;
rm -rf "$top"

ls -1 "$out"/*.rpm
if [ "$rpmlint" = 1 ]; then
  # Each accepted check has a filter with its reason in the rpmlintrc. The
  # debuginfo package is left out: its .build-id links point into the
  # binary packages and its .debug files are unstripped by design, which
  # rpmlint, one package at a time, reports as errors.
  rpmlint --strict -c packaging/rpm/rpmlint.toml -r packaging/rpm/elevate.rpmlintrc \
    $(ls "$out"/*.rpm | grep -Ev -- '-debug(info|source)-')
fi
