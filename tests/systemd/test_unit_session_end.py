#!/usr/bin/env python3
"""End-to-end: what ending an ssh session at a grant's end needs from the
unit (packaging/systemd/elevated.service.in), with the daemon run by
run-as-unit.sh under the unit's capability bounding set, supplementary
groups, NoNewPrivileges=, ProtectSystem=strict and ProcSubset=pid
(ELEVATED_BIN is tests/systemd's elevated-as-unit wrapper).

The real sshd logs a user in with a grant of an on_expiry = "terminate" role
that lasts 4 s; the login shell ignores SIGHUP and SIGTERM, so the
session's processes end only if the daemon can SIGKILL processes of another
user (CAP_KILL), and the user sees the daemon's warning only if it can
write to the user's pty (owned by the user, group tty, mode 0620: the
unit's SupplementaryGroups=tty). Each assertion fails when the unit lacks
the corresponding line (packaging/systemd/README.md, "Capabilities").
"""

import os
import sys
import time
import unittest

E2E = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "e2e")
sys.path.insert(0, E2E)
import elevate_e2e as e2e  # noqa: E402
from test_sshd import Sshd  # noqa: E402

SERVICE = "elevate-e2e-sshd-unit"
ROLES = """
[[role]]
name = "unit-term"
gid = 61961
eligible_users = ["elve2e-unitkill"]
default_duration = "4s"
max_duration = "1m"
on_expiry = "terminate"
"""
# Warning, SIGTERM a second later, SIGKILL 3 s after that, plus the expiry
# sweep and a loaded machine.
ENDED_WITHIN = 20


class UnitSessionEndE2E(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.ws = e2e.Workspace.for_test_class(cls, "unit-session-end")
        cls.user = cls.ws.user("unitkill")
        cls.daemon = e2e.running_daemon(cls.ws, ROLES, enroll=[cls.user])
        m, s = e2e.pam_module(), cls.daemon.socket
        cls.sshd = Sshd(cls.ws, e2e.sshd_pam_stack(m, s, "unit-term", "tests/systemd/test_unit_session_end.py"),
                        service=SERVICE)
        cls.sshd.start()

    def events(self, name):
        return [e for e in self.daemon.audit()
                if e.get("user") == self.user.name and e.get("event") == name]

    def test_session_that_ignores_hangup_and_sigterm_ends_with_a_warning(self):
        self.addCleanup(lambda: e2e.kill_pids(e2e.user_pids(self.user.uid)))
        r = self.daemon.activate(self.user, "unit-term")
        self.assertEqual(r.returncode, 0, r)
        grant = self.daemon.grants(self.user)[0]
        # The shell and its sleep ignore SIGHUP (sshd's end hangs up the
        # pty) and SIGTERM: only the daemon's SIGKILL ends them.
        command = "trap '' HUP TERM; echo LOGGED-IN; sleep 120; echo NOT-ENDED"
        c = e2e.converse(self.sshd.client(self.user, command, tty=True), code=self.user.totp.fresh_code,
                         timeout=60, env={"HOME": "/root"})
        self.assertIn("LOGGED-IN", c.output, c)
        self.assertEqual(len(self.events("session-terminate")), 1, self.daemon.audit())
        # The warning reached the user's terminal (the tty group).
        self.assertRegex(c.output, r"elevate: your unit-term grant .*being closed",
                         "no warning on the user's pty: %s\n%s" % (c.output, self.daemon.log()))
        # Nothing of the session survives (CAP_KILL).
        ended = e2e.wait_until(lambda: not e2e.user_pids(self.user.uid),
                               max(1.0, grant["end"] + ENDED_WITHIN - time.time()))
        survivors = e2e.user_pids(self.user.uid)
        self.assertTrue(ended, "processes of %s outlived the grant: %s\n%s"
                        % (self.user.name, [(p, e2e.cmdline_of(p)) for p in survivors], self.daemon.log()))


if __name__ == "__main__":
    e2e.main()
