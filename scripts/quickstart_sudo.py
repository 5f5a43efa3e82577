#!/usr/bin/env python3
"""The sudo part of the Quick start (scripts/quickstart.sh): plays USER at
a terminal, the way a person would type, with oathtool as the phone.

  quickstart_sudo.py USER TOTP_SECRET ROLE

Shows: sudo asks for a reason and a code and grants ROLE; `getent group
ROLE` lists the user; the next sudo asks nothing; once the (short) grant
has ended the group is empty again and sudo refuses. Codes are never
shown: ****** marks where one was typed. Exits non-zero if any of that
does not happen.
"""

import json
import subprocess
import sys
import time

import pexpect

CODE = r"Verification code[^:]*: ?"
REASON = r"Reason for [A-Za-z0-9_-]+: ?"


def as_user(user, argv):
    return ["setpriv", "--reuid=" + user, "--regid=" + user, "--init-groups", "--"] + argv


def oathtool(secret):
    return subprocess.run(["oathtool", "--totp", "-b", secret], capture_output=True, text=True,
                          check=True).stdout.strip()


def terminal(user, command, secret=None, reason="INC-4711 quick start", note=""):
    """Runs `command` as `user` on a pty, answers the prompts, prints what
    the terminal showed, and returns (exit status, prompts seen)."""
    print("\033[2m%s$ %s\033[0m%s" % (user, command, ("   # " + note) if note else ""))
    argv = as_user(user, ["/bin/sh", "-c", command])
    child = pexpect.spawn(argv[0], argv[1:], encoding="utf-8",
                          codec_errors="replace", timeout=30,
                          env={"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C", "USER": user})
    prompts = []
    while True:
        i = child.expect([REASON, CODE, pexpect.EOF])
        sys.stdout.write(child.before + (child.after if i < 2 else ""))
        if i == 0:
            prompts.append("reason")
            child.sendline(reason)  # the terminal echoes it
        elif i == 1:
            prompts.append("code")
            child.sendline(oathtool(secret) if secret else "")
            sys.stdout.write("******" if secret else "(Enter)")
        else:
            break
    child.close()
    sys.stdout.flush()
    return child.exitstatus, prompts


def grants(user):
    r = subprocess.run(as_user(user, ["elevatectl", "--json", "status"]), capture_output=True, text=True, check=True)
    return json.loads(r.stdout)["grants"]


def main():
    user, secret, role = sys.argv[1:4]
    status, prompts = terminal(user, "sudo -k id -un", secret, note="no grant yet: sudo asks")
    if status != 0 or "code" not in prompts:
        sys.exit("quick start: the first sudo did not ask for a code and succeed")
    terminal(user, "getent group " + role, note="the role's group lists the user now")
    status, prompts = terminal(user, "sudo -k id -un", note="within the grant: no code")
    if status != 0 or prompts:
        sys.exit("quick start: sudo asked again under an active grant")
    terminal(user, "elevatectl status")
    end = max(g["end"] for g in grants(user) if g["role"] == role)
    print("\033[2m(waiting %ds for the grant to end on its own)\033[0m" % max(0, int(end - time.time()) + 1))
    while time.time() < end + 1 or grants(user):
        time.sleep(0.5)
    terminal(user, "getent group " + role, note="the grant ended: nobody is in the group")
    status, prompts = terminal(user, "sudo -k id -un", note="sudo asks again; Enter gives nothing")
    if status == 0:
        sys.exit("quick start: sudo succeeded after the grant ended")


if __name__ == "__main__":
    main()
