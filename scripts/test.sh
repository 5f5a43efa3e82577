#!/usr/bin/env bash
# The whole test suite, as CI runs it: a normal build, an
# AddressSanitizer + UndefinedBehaviorSanitizer build, and the libFuzzer
# targets for a short run; first the Debian packages and the RPMs, which the normal
# build's ctest installs, tests and purges. Every test goes through ctest. Run as root
# (integration tests create users and run the daemon as root).
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=$(nproc)
fuzz_seconds=${ELEVATE_FUZZ_SECONDS:-60}

step() { printf '\n=== %s ===\n' "$*"; }

# The Debian packages, and the same rebuilt as a newer version, for the
# package test (tests/package: install, the sudo and sshd e2e tests against
# the installed files, upgrade, purge). ccache serves the rebuild.
step "Debian packages (dpkg-buildpackage, lintian)"
./scripts/build-deb.sh --out build/deb
./scripts/build-deb.sh --out build/deb-upgrade \
  --version "$(dpkg-parsechangelog -l packaging/debian/changelog -S Version)+rebuild1" --no-lintian
# The RPMs from packaging/rpm/elevate.spec, compared with the .debs by
# tests/package/test_rpm.py.
step "RPM packages (rpmbuild, rpmlint)"
./scripts/build-rpm.sh --out build/rpm

step "build (RelWithDebInfo)"
cmake -S . -B build/ci -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DELEVATE_DEB_DIR="$PWD/build/deb" -DELEVATE_DEB_UPGRADE_DIR="$PWD/build/deb-upgrade" \
  -DELEVATE_RPM_DIR="$PWD/build/rpm"
cmake --build build/ci -j"$jobs"
step "tests"
(cd build/ci && ctest --output-on-failure -j"$jobs")

step "build (ASan + UBSan)"
cmake -S . -B build/ci-sanitize -DCMAKE_BUILD_TYPE=Debug -DELEVATE_SANITIZE=ON -DELEVATE_BENCH=OFF
cmake --build build/ci-sanitize -j"$jobs"
step "tests under ASan + UBSan"
(cd build/ci-sanitize && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  ctest --output-on-failure -j"$jobs")

step "fuzz (libFuzzer, ${fuzz_seconds}s per target)"
CC=clang CXX=clang++ cmake -S . -B build/ci-fuzz -DELEVATE_FUZZ=ON -DELEVATE_FUZZ_SECONDS="$fuzz_seconds"
cmake --build build/ci-fuzz -j"$jobs"
(cd build/ci-fuzz && ctest --output-on-failure)
