#!/bin/sh
# Runs a libFuzzer binary for a bounded time on a scratch copy of its seed
# corpus (the checked-in corpus is never modified). Non-zero on any crash.
set -eu
fuzzer=$1 corpus=$2 seconds=$3
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp -r "$corpus"/. "$work"/
exec "$fuzzer" -max_total_time="$seconds" -max_len=70000 -timeout=10 -rss_limit_mb=2048 \
    -artifact_prefix="$work/" -print_final_stats=1 "$work"
