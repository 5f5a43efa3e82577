#!/usr/bin/env bash
# Records docs/transcript-sudo.txt: a real just-in-time sudo session (real
# elevated, real sudo, real pam_elevate.so, a throw-away test user), so the
# transcript in the docs stays true. Run as root on a machine with sudo,
# oathtool and python3-pexpect (scripts/install-deps.sh). Everything it
# creates (user, /etc/pam.d and /etc/sudoers.d files, the daemon) is removed
# again, even when it fails.
#
#   scripts/transcript.sh [OUTPUT]      (default: docs/transcript-sudo.txt)
#   BUILD_DIR=build/ci scripts/transcript.sh   (default build dir: build-e2e)
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$(id -u)" -eq 0 ] || { echo "run as root (it creates a test user and files under /etc)" >&2; exit 1; }
out=${1:-docs/transcript-sudo.txt}
build=${BUILD_DIR:-build-e2e}

cmake -S . -B "$build" >/dev/null
cmake --build "$build" -j"$(nproc)" --target elevated elevatectl pam_elevate >/dev/null

python=/usr/bin/python3
[ -x "$python" ] || python=python3
ELEVATED_BIN="$PWD/$build/daemon/elevated" \
ELEVATECTL_BIN="$PWD/$build/cli/elevatectl" \
PAM_ELEVATE_SO="$PWD/$build/pam_module/pam_elevate.so" \
PYTHONDONTWRITEBYTECODE=1 \
  "$python" tests/e2e/transcript_sudo.py "$out"

# Keep the README's copy true as well.
"$python" - "$out" README.md <<'PY'
import sys
transcript, readme = sys.argv[1], sys.argv[2]
text = open(readme).read()
begin, end = "<!-- transcript:begin -->", "<!-- transcript:end -->"
i, j = text.index(begin) + len(begin), text.index(end)
body = "\n```\n" + open(transcript).read().rstrip("\n") + "\n```\n"
open(readme, "w").write(text[:i] + body + text[j:])
PY
echo "updated README.md"
