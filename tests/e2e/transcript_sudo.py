#!/usr/bin/env python3
"""Records a real just-in-time sudo session as a plain-text transcript.

Run by scripts/transcript.sh (as root). It sets up what test_sudo.py sets up
(a real elevated, a test user, a sudoers drop-in and a PAM service for real
sudo), then plays the user at a pty: each command's output is exactly what
the terminal showed. The code typed at "Verification code:" is not echoed
by sudo; the transcript marks where it was typed with ******.

Usage: transcript_sudo.py OUTPUT_FILE
"""

import datetime
import os
import platform
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import elevate_e2e as e2e  # noqa: E402

SERVICE = "elevate-e2e-sudo"
ROLES = """
[[role]]
name = "db-admin"
gid = 61921
eligible_users = ["elve2e-alice"]
default_duration = "45m"
max_duration = "4h"
require_reason = true
"""


def os_name():
    try:
        with open("/etc/os-release") as f:
            for line in f:
                if line.startswith("PRETTY_NAME="):
                    return line.split("=", 1)[1].strip().strip('"')
    except OSError:
        pass
    return platform.system()


def main():
    if len(sys.argv) != 2:
        sys.stderr.write(__doc__)
        return 2
    out_path = sys.argv[1]
    e2e.require_root()
    e2e.acquire_lock()
    e2e.preclean()
    ws = e2e.Workspace("transcript")
    try:
        lines = record(ws)
    finally:
        ws.cleanup()
    with open(out_path, "w") as f:
        f.write("\n".join(lines) + "\n")
    sys.stdout.write("wrote %s (%d lines)\n" % (out_path, len(lines)))
    return 0


def record(ws):
    user = ws.user("alice")
    daemon = e2e.Daemon(ws, ROLES)
    daemon.start()
    daemon.enroll(user)
    module = e2e.pam_module()
    ws.pam_service(SERVICE, (
        "auth     required %(m)s socket=%(s)s activate=db-admin\n"
        "account  required %(m)s socket=%(s)s require_grant=db-admin\n"
        "session  required pam_unix.so\n") % {"m": module, "s": daemon.socket})
    ws.sudoers("elevate-e2e-transcript", (
        "Defaults:%(u)s pam_service=%(s)s\n"
        "Defaults:%(u)s timestamp_timeout=0\n"
        "Defaults:%(u)s !lecture\n"
        "Defaults:%(u)s passwd_tries=1\n"
        "%(u)s ALL=(ALL:ALL) ALL\n") % {"u": user.name, "s": SERVICE})

    # `elevatectl` on the user's PATH (the workspace holds a copy) and
    # ELEVATE_SOCKET pointing at this daemon: the commands shown are the
    # commands run.
    env = {"PATH": ws.path + ":/usr/bin:/bin", "ELEVATE_SOCKET": daemon.socket, "HOME": user.home,
           "USER": user.name, "LOGNAME": user.name}
    session = []

    def no_prompt():
        raise RuntimeError("sudo prompted for a code under an active grant")

    def shell(command, code=None, reason=None, note=""):
        argv = e2e.as_user(user, ["/bin/sh", "-c", command])
        c = e2e.converse(argv, code=code, reason=reason, env=env)
        session.append("$ " + command + (("   # " + note) if note else ""))
        text = c.output.rstrip("\n")
        # The code is typed with echo off: show where, never what.
        text = re.sub(r"(Verification code: ?)", r"\1******", text)
        for code_typed in c.codes:
            if code_typed and code_typed in text:
                raise RuntimeError("the code was echoed: " + text)
        session.extend(text.split("\n") if text else [])
        return c

    shell("elevatectl status")
    first = shell("sudo -k id", code=user.totp.fresh_code, reason="INC-4711 rotate the replica password",
                  note="no grant yet: sudo asks")
    if first.exit_status != 0:
        raise RuntimeError("the JIT sudo failed: %s\n%s" % (first, daemon.log()))
    shell("elevatectl status")
    shell("sudo -k whoami", code=no_prompt,
          note="within the grant: no prompt")
    shell("elevatectl drop db-admin")
    used = first.codes[-1]
    mark = len(daemon.audit())
    replay = shell("sudo -k whoami", code=used, reason="INC-4711 once more", note="the same code again")
    if replay.exit_status == 0:
        raise RuntimeError("the replayed code was accepted: %s" % replay)
    why = [e for e in daemon.audit_since(mark) if e.get("result") != "ok"]
    session.append("# elevated's audit trail: %s %s: %s" % (
        why[-1]["event"], why[-1]["result"], why[-1]["reason"]) if why else "# (no denial in the audit trail)")

    sudo_version = e2e.run(["sudo", "-V"]).stdout.split("\n", 1)[0]
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    header = [
        "# elevate: a just-in-time sudo session, recorded by scripts/transcript.sh (do not edit by hand)",
        "# %s; %s; %s; real elevated, sudo and pam_elevate.so." % (now, sudo_version, os_name()),
        "# The user's phone is oathtool; ****** marks where the code was typed (sudo does not echo it).",
        "#",
        "# /etc/pam.d/%s (paths shortened):" % SERVICE,
        "#   auth     required pam_elevate.so activate=db-admin",
        "#   account  required pam_elevate.so require_grant=db-admin",
        "#   session  required pam_unix.so",
        "# sudoers: Defaults:%s pam_service=%s, timestamp_timeout=0, passwd_tries=1" % (user.name, SERVICE),
        "#          %s ALL=(ALL:ALL) ALL" % user.name,
        "# elevate.conf: role db-admin, eligible_users = [\"%s\"], default_duration = \"45m\", "
        "require_reason = true" % user.name,
        "",
    ]
    return header + session


if __name__ == "__main__":
    sys.exit(main())
