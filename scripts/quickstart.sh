#!/usr/bin/env bash
# Quick start on a fresh Debian 12 machine, as root: installs the build
# dependencies, builds the Debian packages and installs them with apt, then
# shows the job elevate does with real programs: a demo user's sudo asks
# for a TOTP code and grants the role db-admin, `getent group db-admin`
# lists the user, the next sudo asks nothing, and when the short grant ends
# the group is empty and sudo refuses again. oathtool plays the phone.
#
# It leaves the demo in place to try by hand (user elevate-demo,
# /etc/pam.d/elevate-demo, /etc/sudoers.d/elevate-demo,
# /etc/elevate/elevate.conf.d/50-quickstart.conf); `apt-get purge elevate
# libpam-elevate libnss-elevate` removes the packages and their state.
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$(id -u)" -eq 0 ] || { echo "run as root" >&2; exit 1; }

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
show() { printf '\033[2m# %s\033[0m\n' "$*"; "$@"; }

say "Installing build dependencies"
./scripts/install-deps.sh >/dev/null

say "Building the Debian packages (dpkg-buildpackage, lintian)"
./scripts/build-deb.sh >/tmp/elevate-quickstart-build.log 2>&1 ||
  { tail -n 40 /tmp/elevate-quickstart-build.log; exit 1; }
ls build/deb/*.deb

say "Installing them with apt"
DEBIAN_FRONTEND=noninteractive apt-get install -y -q --reinstall \
  ./build/deb/elevate_*.deb ./build/deb/libpam-elevate_*.deb ./build/deb/libnss-elevate_*.deb >/dev/null
show grep '^group' /etc/nsswitch.conf

demo=elevate-demo
id "$demo" >/dev/null 2>&1 || useradd -m -s /bin/bash "$demo"

say "A role for $demo, a sudo service that activates it, a sudoers line"
cat > /etc/elevate/elevate.conf.d/50-quickstart.conf <<CONF
# Written by elevate's scripts/quickstart.sh.
[[role]]
name = "db-admin"
gid = 60001
eligible_users = ["$demo"]
default_duration = "20s"                  # short, so the demo shows the end
max_duration = "4h"
require_reason = true
CONF
cat > /etc/pam.d/elevate-demo <<'PAM'
# Written by elevate's scripts/quickstart.sh; see
# /usr/share/doc/libpam-elevate/examples/sudo-elevate.
auth     required  pam_elevate.so activate=db-admin
account  required  pam_elevate.so require_grant=db-admin
session  required  pam_unix.so
session  required  pam_elevate.so
PAM
sudoers=$(mktemp)
cat > "$sudoers" <<SUDO
# Written by elevate's scripts/quickstart.sh: $demo's sudo goes through
# /etc/pam.d/elevate-demo, and every sudo asks PAM (no credential cache).
Defaults:$demo pam_service=elevate-demo, timestamp_timeout=0, !lecture, passwd_tries=1
$demo ALL=(ALL:ALL) ALL
SUDO
visudo -cqf "$sudoers"
install -m 0440 "$sudoers" /etc/sudoers.d/elevate-demo
rm -f "$sudoers"
show cat /etc/pam.d/elevate-demo
show elevated --check-config

say "Starting elevated"
if [ -d /run/systemd/system ]; then
  # The package enabled and started it; the new role needs a reload.
  systemctl reload-or-restart elevated.service
else
  # No systemd (a container): run it in the background. A re-run replaces
  # the daemon an earlier run started, so the binary just installed serves.
  old=$(cat /run/elevated.pid 2>/dev/null || true)
  if [ -n "$old" ] && [ "$(cat "/proc/$old/comm" 2>/dev/null)" = elevated ]; then
    kill "$old"
    for _ in $(seq 50); do kill -0 "$old" 2>/dev/null || break; sleep 0.1; done
  fi
  nohup /usr/sbin/elevated >/var/log/elevate/elevated.log 2>&1 &
  echo $! > /run/elevated.pid
fi
for _ in $(seq 50); do elevatectl ping >/dev/null 2>&1 && break; sleep 0.1; done
show elevatectl ping

say "Enrolling $demo (an admin shows them this QR code once)"
secret=$(elevatectl --json enroll "$demo" --force --no-qr | sed -n 's/.*secret=\([A-Z2-7]*\).*/\1/p')
[ -n "$secret" ] || { echo "enrolling $demo gave no secret" >&2; exit 1; }
echo "otpauth URI issued; oathtool will play the phone app"

say "$demo uses sudo"
/usr/bin/python3 scripts/quickstart_sudo.py "$demo" "$secret" db-admin

say "The audit trail (/var/log/elevate/audit.jsonl), last entries"
tail -n 4 /var/log/elevate/audit.jsonl

say "Done. Run the test suite with: ./scripts/test.sh"
