#!/usr/bin/env python3
"""End-to-end: sudo typed inside a real ssh session comes from that session's
address.

The real sshd of test_sshd.py listens on 127.0.0.1; the ssh client binds
its end to 127.0.0.2 (another network: Linux routes all of 127.0.0.0/8 to
lo) or to 127.0.0.1 (ssh -b). sshd's session step of pam_elevate registers
the session with PAM_RHOST, the client's address. Inside the session the
user runs the real sudo with a sudo-elevate stack that activates a role with
a TOTP code; sudo has no remote host of its own, so the daemon finds the
source through sudo's process ancestry (sudo, the shell, sshd's session
process) in its session registry. The grant and its audit record name the
session's address.

  sshd:  auth     required pam_elevate.so socket=...     (TOTP)
         account  required pam_permit.so
         session  required pam_elevate.so socket=...
  sudo:  auth     required pam_elevate.so socket=... activate=src-sudo
         account  required pam_elevate.so socket=... require_grant=src-sudo
"""

import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import elevate_e2e as e2e  # noqa: E402
from test_sshd import Sshd  # noqa: E402

SUDO_SERVICE = "elevate-e2e-source-sudo"

ROLES = """
[[role]]
name = "src-sudo"
gid = 61951
eligible_users = ["elve2e-src"]
default_duration = "30m"
max_duration = "1h"
"""


class SourceE2E(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.ws = e2e.Workspace.for_test_class(cls, "source")
        cls.user = cls.ws.user("src")
        cls.daemon = e2e.running_daemon(cls.ws, ROLES, enroll=[cls.user])
        m, s = e2e.pam_module(), cls.daemon.socket
        cls.sshd = Sshd(cls.ws, (
            "#%%PAM-1.0\n"
            "# elevate end-to-end test service (tests/e2e/test_source.py); removed after the test.\n"
            "auth     required %(m)s socket=%(s)s\n"
            "account  required pam_permit.so\n"
            "session  required %(m)s socket=%(s)s\n") % {"m": m, "s": s})
        cls.sshd.start()
        cls.ws.pam_service(SUDO_SERVICE, e2e.sudo_pam_stack(m, s, "src-sudo", "test_source.py"))
        cls.ws.sudoers("elevate-e2e-source",
                       "# elevate end-to-end test (tests/e2e/test_source.py); removed after the test.\n"
                       + e2e.sudoers_for(cls.user.name, SUDO_SERVICE))

    def setUp(self):
        self.daemon.drop_all(self.user)
        self.assertEqual(self.daemon.grants(self.user), [])
        self.mark = len(self.daemon.audit())

    def sudo_over_ssh(self, bind):
        """Logs in from `bind` with a code and runs `sudo -k id -un` in the
        session, answering sudo's code prompt too."""
        argv = self.sshd.client(self.user, "sudo -k id -un; echo SUDO-EXIT=$?", tty=True, bind=bind)
        return e2e.converse(argv, code=self.user.totp.fresh_code, timeout=40, env={"HOME": "/root"})

    def assert_sudo_from(self, bind):
        c = self.sudo_over_ssh(bind)
        self.assertEqual(c.prompts, ["code", "code"], c)  # ssh's login, then sudo's
        self.assertTrue(all(c.echo_off), c)
        self.assertTrue(c.saw(r"SUDO-EXIT=0"), c)
        self.assertIn("root", c.output.split(), c)
        events = [e for e in self.daemon.audit_since(self.mark) if e.get("user") == self.user.name]
        # sshd's own steps come from PAM_RHOST.
        opened = [e for e in events if e.get("event") == "session-open"]
        self.assertEqual(len(opened), 1, events)
        self.assertTrue(opened[0]["source"].startswith("elevate-e2e-sshd from %s" % bind), opened)
        # sudo's activation: no remote host of its own, found through the
        # session it runs in.
        grants = self.daemon.grants(self.user)
        self.assertEqual([g["role"] for g in grants], ["src-sudo"], grants)
        want = "%s from %s (ssh session " % (SUDO_SERVICE, bind)
        e2e.log("source of the grant sudo activated in a session from %s: %s" % (bind, grants[0]["source"]))
        self.assertTrue(grants[0]["source"].startswith(want), grants)
        self.assertRegex(grants[0]["source"], r"\) on pts/\d+$")
        activated = [e for e in events if e.get("event") == "activate" and e.get("result") == "ok"]
        self.assertEqual(len(activated), 1, events)
        self.assertTrue(activated[0]["source"].startswith(want), activated)

    def test_1_sudo_in_a_session_from_127_0_0_2(self):
        self.assert_sudo_from("127.0.0.2")

    def test_2_sudo_in_a_session_from_127_0_0_1(self):
        self.assert_sudo_from("127.0.0.1")


if __name__ == "__main__":
    e2e.main()
