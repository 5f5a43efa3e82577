#!/bin/sh
# The unit's own checkers on the unit built from
# packaging/systemd/elevated.service.in (ExecStart= naming the built
# elevated, so the check sees a binary that exists):
#   1. `systemd-analyze verify` prints nothing and succeeds;
#   2. `systemd-analyze security --offline=true --threshold=20` succeeds:
#      an overall exposure of 2.0 or lower;
#   3. the same threshold check fails for a copy of the unit without its
#      hardening, so a systemd-analyze that ignored --threshold would not
#      pass step 2 by accident.
# Usage: check-unit.sh UNIT
set -u
unit=$1
name=$(basename "$unit")
dir=$(dirname "$unit")
fail=0

if ! command -v systemd-analyze >/dev/null; then
    echo "FAIL: systemd-analyze not found (Debian package systemd)" >&2
    exit 1
fi

# The man pages are checked by their own tests; verify would look for
# them in the installed man database, which a build tree does not feed.
out=$(systemd-analyze verify --man=no "$unit" 2>&1)
rc=$?
if [ $rc -ne 0 ] || [ -n "$out" ]; then
    echo "FAIL: systemd-analyze verify $unit (exit $rc):" >&2
    echo "$out" >&2
    fail=1
else
    echo "ok: systemd-analyze verify $name: no findings"
fi

# security --offline reads the unit from the current directory by name.
report=$(cd "$dir" && systemd-analyze security --offline=true --threshold=20 "$name" 2>&1)
rc=$?
exposure=$(echo "$report" | sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p')
if [ -z "$exposure" ]; then
    echo "FAIL: no exposure level in the report:" >&2
    echo "$report" >&2
    fail=1
elif [ $rc -ne 0 ]; then
    echo "FAIL: exposure $exposure is above 2.0 (systemd-analyze security exit $rc):" >&2
    echo "$report" | grep '✗' >&2
    fail=1
else
    echo "ok: systemd-analyze security --offline=true $name: exposure $exposure (at most 2.0)"
fi

# The control: the unit with only what it needs to start, no hardening.
control=$(mktemp -d /tmp/elevate-unit-control-XXXXXX)
trap 'rm -rf "$control"' EXIT
grep -E '^\[|^(Description|Type|ExecStart)=' "$unit" >"$control/$name"
(cd "$control" && systemd-analyze security --offline=true --threshold=20 "$name" >/dev/null 2>&1)
if [ $? -eq 0 ]; then
    echo "FAIL: the threshold check passed an unhardened unit; it checks nothing" >&2
    fail=1
else
    echo "ok: the same check refuses the unit without its hardening"
fi
exit $fail
