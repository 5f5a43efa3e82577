#!/usr/bin/env bash
# Quick start on a fresh Debian 12 machine, as root: installs the
# dependencies, builds and installs elevate, starts the daemon, and walks a
# demo user through the just-in-time flow (enroll, activate with a TOTP
# code, status, drop). oathtool stands in for the user's phone.
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$(id -u)" -eq 0 ] || { echo "run as root" >&2; exit 1; }

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
show() { printf '\033[2m$ %s\033[0m\n' "$*"; "$@"; }

say "Installing build and runtime dependencies"
./scripts/install-deps.sh >/dev/null

say "Building and installing"
cmake -S . -B build/release -DCMAKE_BUILD_TYPE=Release -DELEVATE_TESTS=OFF -DELEVATE_BENCH=OFF -DELEVATE_WERROR=OFF >/dev/null
cmake --build build/release -j"$(nproc)" >/dev/null
cmake --install build/release >/dev/null
echo "installed /usr/local/sbin/elevated and /usr/local/bin/elevatectl"

demo=elevate-demo
id "$demo" >/dev/null 2>&1 || useradd -m -s /bin/bash "$demo"

install -d -m 0755 /etc/elevate /etc/elevate/elevate.conf.d
if [ ! -e /etc/elevate/elevate.conf ]; then
  cat > /etc/elevate/elevate.conf <<CONF
# elevate configuration; see /usr/local/share/doc/elevate/examples/elevate.conf
[daemon]
admin_group = "sudo"

[[role]]
name = "db-admin"
gid = 60001
eligible_users = ["$demo"]
default_duration = "45m"
max_duration = "4h"
require_reason = true
CONF
fi
install -d -m 0700 /var/lib/elevate

say "Checking the configuration"
show elevated --check-config

say "Starting elevated"
if [ -d /run/systemd/system ]; then
  systemctl daemon-reload
  systemctl enable --now elevated.service
  systemctl reload-or-restart elevated.service
else
  # No systemd (a container): run it in the background. A re-run replaces
  # the daemon an earlier run started, so the binary just installed serves.
  old=$(cat /run/elevated.pid 2>/dev/null || true)
  if [ -n "$old" ] && [ "$(cat "/proc/$old/comm" 2>/dev/null)" = elevated ]; then
    kill "$old"
    for _ in $(seq 50); do kill -0 "$old" 2>/dev/null || break; sleep 0.1; done
  fi
  if ! elevatectl ping >/dev/null 2>&1; then
    nohup elevated >/var/log/elevated.log 2>&1 &
    echo $! > /run/elevated.pid
  fi
fi
for _ in $(seq 50); do elevatectl ping >/dev/null 2>&1 && break; sleep 0.1; done
show elevatectl ping

say "Enrolling $demo (an admin shows them this QR code once)"
secret=$(elevatectl --json enroll "$demo" --force --no-qr | sed -n 's/.*secret=\([A-Z2-7]*\).*/\1/p')
echo "otpauth URI issued; oathtool will play the phone app"

as_demo() { setpriv --reuid="$demo" --regid="$demo" --init-groups "$@"; }

say "$demo has no grant yet"
show as_demo elevatectl status

say "$demo activates db-admin for 30 minutes with a TOTP code"
code=$(oathtool --totp -b "$secret")
echo "Verification code: ****** (from the authenticator)"
echo "$code" | show as_demo elevatectl activate db-admin --for 30m --reason "INC-4711 demo"

say "The grant is active and audited"
show as_demo elevatectl status
show elevatectl list

say "$demo drops the grant when done"
show as_demo elevatectl drop db-admin
show as_demo elevatectl status

say "Replaying the same code is refused"
echo "$code" | show as_demo elevatectl activate db-admin --reason replay || true
tail -n 3 /var/log/elevate/audit.jsonl

say "Done. Run the test suite with: ./scripts/test.sh"
