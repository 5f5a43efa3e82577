#!/bin/sh
# Builds elevated and the daemon benchmarks (Release) and runs them.
#
#   sudo bench/run.sh                       # everything, default sizes
#   sudo THROUGHPUT_ARGS="--duration 10" SCALE_ARGS="--grants 200000" bench/run.sh
#   sudo bench/run.sh throughput            # only one of them (or: scale, pam, nss, push, policy)
#   sudo POLICY_ARGS="--rounds 5" bench/run.sh policy   # 200 rules + 10k risk users vs none
#   sudo PAM_ARGS="--rounds 7" bench/run.sh pam
#   sudo PUSH_ARGS="--round-trips 50 --pending-delay 10" bench/run.sh push
#
# BUILD_DIR (default: build-bench in the source tree) is a separate build
# tree, so the numbers never come from a Debug or sanitizer build. Needs
# root: the benchmarks start elevated on a root-owned state directory and
# create (and remove) test users elvb-*. Temporary files go under /tmp
# (override with --dir in the *_ARGS). See bench/README.md.
set -eu

src=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD_DIR:-$src/build-bench}
which=${1:-all}

if [ "$(id -u)" -ne 0 ]; then
    echo "bench/run.sh: must run as root (starts elevated, creates users)" >&2
    exit 1
fi

cmake -S "$src" -B "$build" -DCMAKE_BUILD_TYPE=Release -DELEVATE_TESTS=OFF -DELEVATE_BENCH=ON >/dev/null
cmake --build "$build" -j"$(nproc)" --target bench_all >/dev/null

rev=$(git -C "$src" describe --always --dirty 2>/dev/null || echo unknown)
echo "source $rev, Release build in $build, $(date -u '+%Y-%m-%d %H:%M UTC')"

# Word splitting of the *_ARGS variables is intended.
if [ "$which" = all ] || [ "$which" = throughput ]; then
    echo
    echo "=== bench_daemon_throughput ${THROUGHPUT_ARGS:-}"
    # shellcheck disable=SC2086
    "$build/bench/bench_daemon_throughput" ${THROUGHPUT_ARGS:-}
fi
if [ "$which" = all ] || [ "$which" = scale ]; then
    echo
    echo "=== bench_daemon_scale ${SCALE_ARGS:-}"
    # shellcheck disable=SC2086
    "$build/bench/bench_daemon_scale" ${SCALE_ARGS:-}
fi
if [ "$which" = all ] || [ "$which" = pam ]; then
    echo
    echo "=== bench_pam ${PAM_ARGS:-}"
    # Built only when pam_module/ is (writes /etc/pam.d/elevate-bench-*, users elvbp-*).
    # shellcheck disable=SC2086
    "$build/bench/bench_pam" ${PAM_ARGS:-}
fi
if [ "$which" = all ] || [ "$which" = policy ]; then
    echo
    echo "=== bench_daemon_throughput --policy-rules 200 --risk-users 10000 ${POLICY_ARGS:-}"
    # Two daemons (200 rules and risk history for 10k users, and none), interleaved.
    # shellcheck disable=SC2086
    "$build/bench/bench_daemon_throughput" --policy-rules 200 --risk-users 10000 ${POLICY_ARGS:-}
    if [ "$which" = policy ]; then
        echo
        echo "=== bench_pam --only grant --policy-rules 200 --risk-users 10000 ${POLICY_PAM_ARGS:-}"
        # (bench_pam in "all" runs the same variant by default.)
        # shellcheck disable=SC2086
        "$build/bench/bench_pam" --only grant --policy-rules 200 --risk-users 10000 ${POLICY_PAM_ARGS:-}
    fi
fi
if [ "$which" = all ] || [ "$which" = push ]; then
    echo
    echo "=== bench_push_roundtrip ${PUSH_ARGS:-}"
    # HTTPS on 127.0.0.1 only (a webhook server inside the program); ~2 minutes.
    # shellcheck disable=SC2086
    "$build/bench/bench_push_roundtrip" ${PUSH_ARGS:-}
fi
if [ "$which" = all ] || [ "$which" = nss ]; then
    echo
    echo "=== bench_nss_lookup ${NSS_ARGS:-}"
    # shellcheck disable=SC2086
    "$build/bench/bench_nss_lookup" ${NSS_ARGS:-}
fi
