#!/usr/bin/env python3
"""End-to-end: the real sudo with pam_elevate.so.

Two test users get a sudoers drop-in that points sudo at test PAM services
(`Defaults:USER pam_service=...`), so the system's /etc/pam.d/sudo is never
touched:

  auth     required pam_elevate.so socket=... activate=ROLE
  account  required pam_elevate.so socket=... require_grant=ROLE

sudo runs as the test user on a pty (pexpect); "Verification code:" is
answered with a code oathtool computes at that moment. Credential caching is
off (timestamp_timeout=0), so every sudo goes through PAM again.
"""

import os
import re
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import elevate_e2e as e2e  # noqa: E402

SERVICE = "elevate-e2e-sudo"
SERVICE_SHORT = "elevate-e2e-sudo-short"
REASON = "INC-4711 e2e test"

ROLES = """
[[role]]
name = "db-admin"
gid = 61901
eligible_users = ["elve2e-sudo"]
default_duration = "30m"
max_duration = "1h"
require_reason = true

[[role]]
name = "db-short"
gid = 61902
eligible_users = ["elve2e-short"]
default_duration = "3s"
max_duration = "1m"
"""


class SudoE2E(e2e.SudoAssertions, unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.ws = e2e.Workspace.for_test_class(cls, "sudo")
        cls.user = cls.ws.user("sudo")
        cls.short = cls.ws.user("short")
        cls.daemon = e2e.running_daemon(cls.ws, ROLES, enroll=[cls.user, cls.short])
        module = e2e.pam_module()
        cls.ws.pam_service(SERVICE, e2e.sudo_pam_stack(module, cls.daemon.socket, "db-admin", "test_sudo.py"))
        cls.ws.pam_service(SERVICE_SHORT, e2e.sudo_pam_stack(module, cls.daemon.socket, "db-short", "test_sudo.py"))
        cls.ws.sudoers("elevate-e2e-sudo",
                       "# elevate end-to-end test (tests/e2e/test_sudo.py); removed after the test.\n"
                       + e2e.sudoers_for(cls.user.name, SERVICE) + e2e.sudoers_for(cls.short.name, SERVICE_SHORT))

    def setUp(self):
        # Each scenario starts without a grant.
        self.daemon.drop_all(self.user)
        self.daemon.drop_all(self.short)
        self.assertEqual(self.daemon.grants(self.user), [])

    # -- helpers

    def sudo(self, user, code=None):
        """`sudo -k id -un` as `user` on a pty; code() is called at the prompt."""
        argv = e2e.as_user(user, ["sudo", "-k", "id", "-un"])
        return e2e.converse(argv, code=code, reason=REASON, env={"HOME": user.home, "USER": user.name})

    def assert_codes_not_echoed(self, c):
        self.assertTrue(all(c.echo_off), "echo was on at a code prompt: %s" % c)
        for code in c.codes:
            if code:
                self.assertNotIn(code, c.output, "the code was shown on the terminal: %s" % c)

    def assert_told(self, c, user, reason, mark):
        """The daemon refused for `reason` (its audit trail says so) and the
        user was told: the daemon's words where sudo lets modules speak,
        sudo's own failure line otherwise."""
        denied = [e for e in self.daemon.audit_since(mark)
                  if e.get("user") == user.name and e.get("result") != "ok"]
        self.assertTrue(any(re.search(reason, e.get("reason", ""), re.I) for e in denied),
                        "no denial matching %r in the audit trail: %s" % (reason, denied))
        # Debian 12's sudo passes PAM_SILENT; pam_elevate still shows why.
        self.assertTrue(c.saw(reason), c)

    def roles(self, user):
        return [g["role"] for g in self.daemon.grants(user)]

    # -- scenarios

    def test_1_wrong_code_is_refused_and_grants_nothing(self):
        mark = len(self.daemon.audit())
        c = self.sudo(self.user, code=self.user.totp.wrong_code)
        self.assertEqual(c.prompts, ["reason", "code"], c)
        self.assert_refused(c)
        self.assert_told(c, self.user, r"wrong verification code", mark)
        self.assert_codes_not_echoed(c)
        self.assertEqual(self.roles(self.user), [])

    def test_2_jit_activation_at_the_prompt(self):
        c = self.sudo(self.user, code=self.user.totp.fresh_code)
        self.assertEqual(c.prompts, ["reason", "code"], c)
        self.assert_ran_as_root(c)
        self.assert_codes_not_echoed(c)
        grants = self.daemon.grants(self.user)
        self.assertEqual([g["role"] for g in grants], ["db-admin"], grants)
        self.assertEqual(grants[0]["reason"], REASON)
        self.assertEqual(grants[0]["end"] - grants[0]["start"], 30 * 60)
        # ... and the user sees it in the human output too.
        r = self.daemon.ctl(["status"], user=self.user)
        self.assertEqual(r.returncode, 0, r)
        self.assertRegex(r.stdout, r"db-admin .*%s" % REASON)

    def test_3_next_sudo_within_the_grant_does_not_prompt(self):
        c = self.sudo(self.user, code=self.user.totp.fresh_code)
        self.assert_ran_as_root(c)
        for _ in range(2):
            mark = len(self.daemon.audit())
            c = self.sudo(self.user, code=lambda: self.fail("sudo prompted for a code under an active grant"))
            self.assertEqual(c.prompts, [], c)
            self.assert_ran_as_root(c)
            # Not sudo's own credential cache (timestamp_timeout=0): PAM asked
            # the daemon, which found the grant. The account step in the same
            # PAM handle reuses that confirmation (pam_elevate(8)), so the
            # daemon sees one question per sudo.
            asked = [(e["event"], e["result"]) for e in self.daemon.audit_since(mark)
                     if e.get("user") == self.user.name]
            self.assertEqual(asked, [("authorize", "ok")])

    def test_4_replayed_code_is_refused_after_drop(self):
        c = self.sudo(self.user, code=self.user.totp.fresh_code)
        self.assert_ran_as_root(c)
        used = c.codes[-1]
        r = self.daemon.ctl(["drop", "db-admin"], user=self.user)
        self.assertEqual(r.returncode, 0, r)
        self.assertEqual(self.roles(self.user), [])
        mark = len(self.daemon.audit())
        c = self.sudo(self.user, code=used)
        self.assertEqual(c.prompts, ["reason", "code"], c)
        self.assert_refused(c)
        self.assert_told(c, self.user, r"already used", mark)
        self.assertEqual(self.roles(self.user), [])

    def test_5_expired_grant_prompts_again(self):
        c = self.sudo(self.short, code=self.short.totp.fresh_code)
        self.assertEqual(c.prompts, ["code"], c)  # db-short needs no reason
        self.assert_ran_as_root(c)
        grants = self.daemon.grants(self.short)
        self.assertEqual([g["role"] for g in grants], ["db-short"], grants)
        self.assertEqual(grants[0]["end"] - grants[0]["start"], 3)
        # Wait past the end time (the daemon's clock is the wall clock).
        end = grants[0]["end"]
        while time.time() < end + 1.5:
            time.sleep(0.2)
        self.assertEqual(self.roles(self.short), [])
        # sudo asks for a code again; pressing Enter gets nothing.
        c = self.sudo(self.short, code=None)
        self.assertEqual(c.prompts, ["code"], c)
        self.assert_refused(c)
        # The module refuses an empty code itself; it never reaches the daemon.
        self.assertTrue(c.saw(r"No verification code was entered"), c)
        self.assertEqual(self.roles(self.short), [])
        # The audit trail saw the grant end on its own.
        ends = [e for e in self.daemon.audit() if e.get("user") == self.short.name and e.get("event") == "expire"]
        self.assertTrue(ends, self.daemon.audit())


if __name__ == "__main__":
    e2e.main()
