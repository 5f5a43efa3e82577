#!/usr/bin/env python3
"""End-to-end: a root shell opened with the real `sudo -s` during a grant
ends when the grant ends, when its role says on_expiry = "terminate".

The test PAM service is the shipped conf/pam.d/sudo-elevate stack, session
line included:

  auth     required pam_elevate.so socket=... activate=sd-term
  account  required pam_elevate.so socket=... require_grant=sd-term
  session  required pam_unix.so
  session  required pam_elevate.so socket=...

sudo sets PAM_USER to the run-as user (root) before pam_open_session; the
session must still be filed under the invoking user and the grant that
admitted the sudo. The shell is a copy of bash in the workspace (sudo -s runs
$SHELL), so a run that dies outright leaves nothing that preclean() does not
find. Processes of another user, and of the same user outside sudo, must
survive the grant's end.
"""

import os
import re
import shutil
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import elevate_e2e as e2e  # noqa: E402

SERVICE = "elevate-e2e-sudo-session"
# For the user without a grant: sudo lets them in without elevate, and only
# the session line of elevate remains.
SERVICE_PLAIN = "elevate-e2e-sudo-session-plain"
GRANT_SECONDS = 5
# Warning, SIGTERM a second later, SIGKILL 3 s after that (interactive bash
# ignores SIGTERM), plus the daemon's expiry sweep and a loaded machine.
ENDED_WITHIN = 20

ROLES = """
[[role]]
name = "sd-term"
gid = 61941
eligible_users = ["elve2e-sdsess"]
default_duration = "%ds"
max_duration = "1h"
on_expiry = "terminate"
""" % GRANT_SECONDS


class SudoSessionE2E(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.ws = e2e.Workspace.for_test_class(cls, "sudo-session")
        cls.user = cls.ws.user("sdsess")
        cls.other = cls.ws.user("sdother")
        cls.daemon = e2e.running_daemon(cls.ws, ROLES, enroll=[cls.user])
        cls.shell = cls.ws.file("elevate-e2e-bash")
        shutil.copyfile("/bin/bash", cls.shell)
        os.chmod(cls.shell, 0o755)
        cls.ws.pam_service(SERVICE, e2e.sudo_pam_stack(e2e.pam_module(), cls.daemon.socket, "sd-term",
                                                       "test_sudo_session.py", session=True))
        cls.ws.pam_service(SERVICE_PLAIN, (
            "#%%PAM-1.0\n"
            "# elevate end-to-end test service (tests/e2e/test_sudo_session.py); removed after the test.\n"
            "auth     required pam_permit.so\n"
            "account  required pam_permit.so\n"
            "session  required pam_unix.so\n"
            "session  required %s socket=%s\n") % (e2e.pam_module(), cls.daemon.socket))
        cls.ws.sudoers("elevate-e2e-sudo-session",
                       "# elevate end-to-end test (tests/e2e/test_sudo_session.py); removed after the test.\n"
                       + e2e.sudoers_for(cls.user.name, SERVICE) + e2e.sudoers_for(cls.other.name, SERVICE_PLAIN))

    def setUp(self):
        self.daemon.drop_all(self.user)
        self.mark = len(self.daemon.audit())
        # Bystanders: another user's process, and the sudo user's own
        # process outside sudo.
        self.bystanders = [self.sleeper(self.other), self.sleeper(self.user)]

    # -- helpers

    def sleeper(self, user):
        p = subprocess.Popen(e2e.as_user(user, ["sleep", "600"]), stdin=subprocess.DEVNULL,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=dict(e2e.BASE_ENV),
                             start_new_session=True)
        self.addCleanup(e2e.terminate, p)
        return p

    def root_shell(self, code=None, user=None):
        """`sudo -s` as `user` (self.user) on a pty, answering the code prompt
        if one comes; returns (child, pid of the root shell) once it runs."""
        user = user or self.user
        env = dict(e2e.BASE_ENV, HOME=user.home, USER=user.name, SHELL=self.shell)
        argv = e2e.as_user(user, ["sudo", "-s"])
        child = e2e.pexpect.spawn(argv[0], argv[1:], env=env, encoding="utf-8", codec_errors="replace",
                                  timeout=20, dimensions=(24, 200))
        self.addCleanup(self.close, child)
        # The root shell's prompt ends in "# "; type nothing before it shows.
        while child.expect([e2e.CODE_PROMPT, r"# "]) == 0:
            self.assertIsNotNone(code, "sudo prompted for a code under an active grant")
            child.waitnoecho(timeout=3)
            child.sendline(code())
            code = None
        child.sendline("echo SHELL-PID=$$ UID=$(id -u)")
        child.expect(r"SHELL-PID=(\d+) UID=(\d+)")
        pid, uid = int(child.match.group(1)), int(child.match.group(2))
        self.assertEqual(uid, 0, "sudo -s did not give a root shell")
        self.ws.track_pid(pid, self.shell)
        self.addCleanup(e2e.kill_pids, [pid])
        return child, pid

    @staticmethod
    def close(child):
        try:
            child.close(force=True)
        except e2e.pexpect.ExceptionPexpect:
            pass  # already reaped (kill_pids reaps every child that ended)

    def assert_shell_ended(self, child, pid, after):
        """The shell ends by itself within ENDED_WITHIN seconds of `after`
        (nothing is typed into it any more); returns what it showed."""
        child.timeout = max(1.0, after + ENDED_WITHIN - time.time())
        i = child.expect([e2e.pexpect.EOF, e2e.pexpect.TIMEOUT])
        shown = child.before or ""
        self.assertEqual(i, 0, "the root shell is still running %ds after the grant ended:\n%s"
                         % (ENDED_WITHIN, shown))
        self.close(child)
        self.assertTrue(e2e.wait_until(lambda: not e2e.pid_alive(pid), 5), "shell pid %d survived" % pid)
        return shown

    def assert_bystanders_alive(self):
        for p in self.bystanders:
            self.assertIsNone(p.poll(), "a process outside the sudo session was ended (%s)" % p.args)

    def events(self, name):
        return [e for e in self.daemon.audit_since(self.mark) if e.get("event") == name]

    def assert_session_filed(self, grant, user=None):
        """The sudo session was filed under the invoking user and the grant."""
        opened = self.events("session-open")
        self.assertEqual(len(opened), 1, self.daemon.audit_since(self.mark))
        self.assertEqual((opened[0]["user"], opened[0]["grant_id"]), ((user or self.user).name, grant["id"]), opened)

    def assert_terminated(self, grant, shown):
        terminated = self.events("session-terminate")
        self.assertEqual(len(terminated), 1, self.daemon.audit_since(self.mark))
        self.assertEqual((terminated[0]["user"], terminated[0]["grant_id"]), (self.user.name, grant["id"]))
        self.assertTrue(re.search(r"elevate: your sd-term grant .*being closed", shown), shown)
        # Give a stray SIGKILL time to land before looking at the others.
        time.sleep(1)
        self.assert_bystanders_alive()

    # -- scenarios

    def test_1_root_shell_ends_when_the_grant_expires(self):
        child, pid = self.root_shell(code=self.user.totp.fresh_code)
        grants = self.daemon.grants(self.user)
        self.assertEqual([(g["role"], g["end"] - g["start"]) for g in grants], [("sd-term", GRANT_SECONDS)])
        grant = grants[0]
        self.assertLess(time.time(), grant["end"], "the shell started after the grant ended")
        shown = self.assert_shell_ended(child, pid, grant["end"])
        self.assert_session_filed(grant)
        self.assert_terminated(grant, shown)

    def test_2_root_shell_ends_when_the_grant_is_revoked(self):
        r = self.daemon.activate(self.user, "sd-term", duration="1h")
        self.assertEqual(r.returncode, 0, r)
        grant = self.daemon.grants(self.user)[0]
        child, pid = self.root_shell()  # an active grant: no prompt
        r = self.daemon.ctl(["revoke", grant["id"]])
        self.assertEqual(r.returncode, 0, r)
        shown = self.assert_shell_ended(child, pid, time.time())
        self.assert_session_filed(grant)
        self.assert_terminated(grant, shown)


    def test_3_without_a_grant_the_session_line_changes_nothing(self):
        # Another user whom sudo lets in without elevate: the session is
        # recorded under them, without a grant, and closes when they leave.
        child, pid = self.root_shell(user=self.other)
        child.sendline("exit 7")
        child.expect(e2e.pexpect.EOF)
        self.close(child)
        self.assertEqual(child.exitstatus, 7, child.before)
        self.assert_session_filed({"id": ""}, user=self.other)
        closed = self.events("session-close")
        self.assertEqual([(e["user"], e["result"]) for e in closed], [(self.other.name, "ok")],
                         self.daemon.audit_since(self.mark))
        self.assert_bystanders_alive()


if __name__ == "__main__":
    e2e.main()
