#!/bin/sh
# Runs a program with the process restrictions of a systemd unit, read from
# the unit file, on a machine where PID 1 is not systemd (this one): what
# the daemon can do under them is then tested with the real sudo and sshd
# end-to-end tests. The pid stays the same from here to the program (each
# step execs the next), so a caller can signal and wait for it.
#
# Applied from the unit:
#   CapabilityBoundingSet=, AmbientCapabilities= (empty), NoNewPrivileges=,
#   SupplementaryGroups=, UMask=      by setpriv(1) and umask
#   ProtectSystem=strict              every mount read-only but /proc, /sys,
#                                     /dev, except WRITABLE (the stand-in
#                                     for StateDirectory=, RuntimeDirectory=
#                                     and LogsDirectory=)
#   ProtectHome=yes                   empty, inaccessible /home, /root, /run/user
#   ProcSubset=pid                    a procfs mounted with subset=pid
# Not applied (systemd's own mechanisms): PrivateTmp=, PrivateDevices=,
# SystemCallFilter=, RestrictAddressFamilies=, the Protect* switches of
# kernel and clock, MemoryDenyWriteExecute=.
#
# Usage: run-as-unit.sh UNIT WRITABLE PROGRAM [ARG...]
set -eu

value() {  # the last value of a [Service] key (systemd: later lines win, "" resets)
    sed -n "s/^$1=//p" "$unit" | tail -n 1
}

if [ "${1:-}" != "--inside" ]; then
    unit=$1
    writable=$2
    [ -f "$unit" ] || { echo "run-as-unit: no unit file $unit" >&2; exit 127; }
    [ -d "$writable" ] || { echo "run-as-unit: no directory $writable" >&2; exit 127; }
    exec unshare --mount --propagation private -- "$0" --inside "$@"
fi
shift
unit=$1
writable=$2
shift 2

if [ "$(value ProcSubset)" = pid ]; then
    mount -t proc -o subset=pid,nosuid,nodev,noexec proc /proc
fi
if [ "$(value ProtectHome)" = yes ]; then
    for d in /home /root /run/user; do
        [ -d "$d" ] && mount -t tmpfs -o ro,mode=000,nosuid,nodev,noexec tmpfs "$d"
    done
fi
if [ "$(value ProtectSystem)" = strict ]; then
    # Deepest first does not matter for remounts; every mount point once.
    findmnt -rn -o TARGET | sort -u | while read -r target; do
        case "$target" in
        /proc | /proc/* | /sys | /sys/* | /dev | /dev/*) continue ;;
        esac
        mount -o remount,bind,ro "$target" 2>/dev/null || true
    done
    mount --bind "$writable" "$writable"
    mount -o remount,bind,rw "$writable"
    if touch /etc/.elevate-run-as-unit 2>/dev/null; then
        rm -f /etc/.elevate-run-as-unit
        echo "run-as-unit: /etc is still writable; ProtectSystem=strict is not in effect" >&2
        exit 127
    fi
fi

caps=$(value CapabilityBoundingSet)
bounding=-all
for c in $caps; do
    c=$(echo "$c" | tr 'A-Z' 'a-z')
    bounding="$bounding,+${c#cap_}"
done
if [ -n "$(value AmbientCapabilities)" ]; then
    echo "run-as-unit: AmbientCapabilities= is not supported here" >&2
    exit 127
fi
set -- --bounding-set "$bounding" --inh-caps -all --ambient-caps -all -- "$@"
groups=$(value SupplementaryGroups | tr ' ' ',')
if [ -n "$groups" ]; then
    set -- --groups "$groups" "$@"
else
    set -- --clear-groups "$@"
fi
[ "$(value NoNewPrivileges)" = yes ] && set -- --no-new-privs "$@"
umask_value=$(value UMask)
[ -n "$umask_value" ] && umask "$umask_value"
exec setpriv "$@"
