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

A [policy] (scoped to a second user and role, so the first two cases are
judged as without one) makes the answer depend on that address: network
"lab" is 127.0.0.1/32. At sshd's own auth step rule lab-sshd decides a
login from the lab and outside-lab-sshd (a TOTP code, never a push) one
from elsewhere; sudo inside a session from the lab activates lab-sudo with
a code (rule lab-sudo-in-lab), inside a session from 127.0.0.2 it is denied
before any prompt with the rule's message (rule lab-sudo-outside).

A second sshd (its own name, so its own PAM service) gives the lab user a
role-covered login: its auth step activates lab-login, which the user
already holds, so the grant covers a login from the lab without a prompt.
Rule outside-lab-login (not_networks = ["lab"], a TOTP code every time)
makes a login from 127.0.0.2 prove a code even inside the grant: the right
one lets it in (verified, no new grant), a wrong one is refused.

  sshd:  auth     required pam_elevate.so socket=...     (TOTP)
         account  required pam_permit.so
         session  required pam_elevate.so socket=...
  sshd (lab-login):
         auth     required pam_elevate.so socket=... activate=lab-login
         account  required pam_elevate.so socket=... require_grant=lab-login
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
LAB_SUDO_SERVICE = "elevate-e2e-source-lab-sudo"
SSHD_SERVICE = "elevate-e2e-sshd"
LOGIN_SSHD_SERVICE = "elevate-e2e-sshd-lab-login"
LAB_DENIED = "lab-sudo not from outside the lab"

ROLES = """
[[role]]
name = "src-sudo"
gid = 61951
eligible_users = ["elve2e-src"]
default_duration = "30m"
max_duration = "1h"

[[role]]
name = "lab-sudo"
gid = 61952
eligible_users = ["elve2e-srclab"]
default_duration = "30m"
max_duration = "1h"

[[role]]
name = "lab-login"
gid = 61953
eligible_users = ["elve2e-srclab"]
default_duration = "30m"
max_duration = "1h"

[policy.networks.lab]
cidrs = ["127.0.0.1/32"]

[[policy.rule]]
name = "lab-sshd"
users = ["elve2e-srclab"]
services = ["elevate-e2e-sshd"]
networks = ["lab"]
allow = true

[[policy.rule]]
name = "outside-lab-sshd"
users = ["elve2e-srclab"]
services = ["elevate-e2e-sshd"]
require_factor = "totp"

[[policy.rule]]
name = "lab-sudo-in-lab"
roles = ["lab-sudo"]
networks = ["lab"]
allow = true

[[policy.rule]]
name = "lab-sudo-outside"
roles = ["lab-sudo"]
not_networks = ["lab"]
deny = "%s"

[[policy.rule]]
name = "outside-lab-login"
roles = ["lab-login"]
not_networks = ["lab"]
require_factor = "totp"
every_time = true
""" % LAB_DENIED


class SourceE2E(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.ws = e2e.Workspace.for_test_class(cls, "source")
        cls.user = cls.ws.user("src")
        cls.lab_user = cls.ws.user("srclab")
        cls.daemon = e2e.running_daemon(cls.ws, ROLES, enroll=[cls.user, cls.lab_user])
        m, s = e2e.pam_module(), cls.daemon.socket
        cls.sshd = Sshd(cls.ws, (
            "#%%PAM-1.0\n"
            "# elevate end-to-end test service (tests/e2e/test_source.py); removed after the test.\n"
            "auth     required %(m)s socket=%(s)s\n"
            "account  required pam_permit.so\n"
            "session  required %(m)s socket=%(s)s\n") % {"m": m, "s": s})
        cls.sshd.start()
        cls.login_sshd = Sshd(cls.ws, (
            "#%%PAM-1.0\n"
            "# elevate end-to-end test service (tests/e2e/test_source.py); removed after the test.\n"
            "auth     required %(m)s socket=%(s)s activate=lab-login\n"
            "account  required %(m)s socket=%(s)s require_grant=lab-login\n"
            "session  required %(m)s socket=%(s)s\n") % {"m": m, "s": s}, service=LOGIN_SSHD_SERVICE)
        cls.login_sshd.start()
        cls.ws.pam_service(SUDO_SERVICE, e2e.sudo_pam_stack(m, s, "src-sudo", "test_source.py"))
        cls.ws.pam_service(LAB_SUDO_SERVICE, e2e.sudo_pam_stack(m, s, "lab-sudo", "test_source.py"))
        cls.ws.sudoers("elevate-e2e-source",
                       "# elevate end-to-end test (tests/e2e/test_source.py); removed after the test.\n"
                       + e2e.sudoers_for(cls.user.name, SUDO_SERVICE)
                       + e2e.sudoers_for(cls.lab_user.name, LAB_SUDO_SERVICE))

    def setUp(self):
        for user in (self.user, self.lab_user):
            self.daemon.drop_all(user)
            self.assertEqual(self.daemon.grants(user), [])
        self.mark = len(self.daemon.audit())

    def sudo_over_ssh(self, bind, user=None):
        """Logs `user` (default: the first one) in from `bind` with a code
        and runs `sudo -k id -un` in the session, answering sudo's code
        prompt too."""
        user = user or self.user
        argv = self.sshd.client(user, "sudo -k id -un; echo SUDO-EXIT=$?", tty=True, bind=bind)
        return e2e.converse(argv, code=user.totp.fresh_code, timeout=40, env={"HOME": "/root"})

    def events(self, user, name):
        return [e for e in self.daemon.audit_since(self.mark) if e.get("user") == user.name and e.get("event") == name]

    def assert_sshd_decided_by(self, bind, rule):
        """sshd's auth step for the lab user, from `bind`, was decided by
        `rule` (asked for a code) and the code was accepted."""
        asked = [e for e in self.events(self.lab_user, "authorize") if e["source"].startswith(SSHD_SERVICE + " from ")]
        self.assertEqual(len(asked), 1, asked)
        self.assertEqual(asked[0]["source"], "%s from %s" % (SSHD_SERVICE, bind), asked)
        self.assertEqual(asked[0]["result"], "ok", asked)
        self.assertEqual(asked[0]["reason"], "asked for a second factor; rule " + rule, asked)
        verified = self.events(self.lab_user, "verify")
        self.assertTrue(verified and verified[0]["result"] == "ok", verified)
        self.assertIn("rule " + rule, verified[0]["reason"], verified)

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

    def login_under_grant(self, bind, code):
        """Gives the lab user a grant of lab-login (elevatectl activate, with
        a code), then logs in to the lab-login sshd from `bind`, answering a
        code prompt with `code` (called at the prompt). Returns the
        conversation and the grant; self.mark is moved past the activation."""
        r = self.daemon.activate(self.lab_user, "lab-login")
        self.assertEqual(r.returncode, 0, r)
        grants = self.daemon.grants(self.lab_user)
        self.assertEqual([g["role"] for g in grants], ["lab-login"], grants)
        self.mark = len(self.daemon.audit())
        argv = self.login_sshd.client(self.lab_user, "echo LOGGED-IN; id -un", bind=bind)
        return e2e.converse(argv, code=code, timeout=30, env={"HOME": "/root"}), grants[0]

    def login_events(self, name):
        """The lab user's audit records of `name` from the lab-login sshd."""
        return [e for e in self.events(self.lab_user, name) if e["source"].startswith(LOGIN_SSHD_SERVICE + " from ")]

    def assert_logged_in(self, c, bind, grant):
        self.assertEqual(c.exit_status, 0, c)
        self.assertIn("LOGGED-IN", c.output, c)
        self.assertIn(self.lab_user.name, c.output.split(), c)
        opened = self.login_events("session-open")
        self.assertEqual(len(opened), 1, opened)
        self.assertEqual((opened[0]["role"], opened[0]["grant_id"]), ("lab-login", grant["id"]), opened)
        self.assertTrue(opened[0]["source"].startswith("%s from %s" % (LOGIN_SSHD_SERVICE, bind)), opened)
        # Inside the grant: no new one.
        self.assertEqual([g["id"] for g in self.daemon.grants(self.lab_user)], [grant["id"]])

    def assert_asked_by_rule_from_outside(self):
        """The lab-login sshd's auth step from 127.0.0.2 was asked for a code
        inside the grant by rule outside-lab-login. (The code itself goes
        to verify as a plain second factor, without the role.)"""
        asked = self.login_events("authorize")
        self.assertEqual(len(asked), 1, asked)
        self.assertEqual(asked[0]["source"], "%s from 127.0.0.2" % LOGIN_SSHD_SERVICE, asked)
        self.assertEqual((asked[0]["role"], asked[0]["result"]), ("lab-login", "ok"), asked)
        self.assertEqual(asked[0]["reason"], "asked for a second factor; rule outside-lab-login", asked)

    def test_1_sudo_in_a_session_from_127_0_0_2(self):
        self.assert_sudo_from("127.0.0.2")

    def test_2_sudo_in_a_session_from_127_0_0_1(self):
        self.assert_sudo_from("127.0.0.1")

    def test_3_policy_denies_sudo_in_a_session_from_outside_the_lab(self):
        c = self.sudo_over_ssh("127.0.0.2", self.lab_user)
        self.assertEqual(c.prompts, ["code"], c)  # ssh's login only: sudo is refused before a prompt
        self.assertTrue(c.saw(r"SUDO-EXIT=1"), c)
        self.assertTrue(c.saw(LAB_DENIED), c)
        self.assertNotIn("root", c.output.split(), c)
        self.assert_sshd_decided_by("127.0.0.2", "outside-lab-sshd")
        denied = [e for e in self.events(self.lab_user, "authorize") if e.get("role") == "lab-sudo"]
        self.assertEqual(len(denied), 1, denied)
        self.assertEqual(denied[0]["result"], "denied", denied)
        self.assertEqual(denied[0]["reason"], LAB_DENIED + "; rule lab-sudo-outside", denied)
        e2e.log("audit source of sudo denied in a session from 127.0.0.2: " + denied[0]["source"])
        self.assertTrue(denied[0]["source"].startswith("%s from 127.0.0.2 (ssh session " % LAB_SUDO_SERVICE), denied)
        self.assertEqual(self.daemon.grants(self.lab_user), [])

    def test_4_policy_allows_sudo_in_a_session_from_the_lab(self):
        c = self.sudo_over_ssh("127.0.0.1", self.lab_user)
        self.assertEqual(c.prompts, ["code", "code"], c)
        self.assertTrue(c.saw(r"SUDO-EXIT=0"), c)
        self.assertIn("root", c.output.split(), c)
        self.assertNotIn(LAB_DENIED, c.output, c)
        self.assert_sshd_decided_by("127.0.0.1", "lab-sshd")
        activated = [e for e in self.events(self.lab_user, "activate") if e.get("result") == "ok"]
        self.assertEqual(len(activated), 1, activated)
        self.assertEqual(activated[0]["role"], "lab-sudo", activated)
        self.assertIn("; rule lab-sudo-in-lab", activated[0]["reason"], activated)
        self.assertTrue(activated[0]["source"].startswith("%s from 127.0.0.1 (ssh session " % LAB_SUDO_SERVICE),
                        activated)
        self.assertEqual([g["role"] for g in self.daemon.grants(self.lab_user)], ["lab-sudo"])


    def test_5_role_covered_login_from_the_lab_needs_no_code(self):
        c, grant = self.login_under_grant("127.0.0.1", code=self.lab_user.totp.fresh_code)
        self.assertEqual(c.prompts, [], c)
        self.assert_logged_in(c, "127.0.0.1", grant)
        covered = self.login_events("authorize")
        self.assertEqual(len(covered), 1, covered)
        self.assertEqual(covered[0]["source"], "%s from 127.0.0.1" % LOGIN_SSHD_SERVICE, covered)
        self.assertEqual((covered[0]["result"], covered[0]["grant_id"]), ("ok", grant["id"]), covered)
        self.assertRegex(covered[0]["reason"], r"^active grant until [^;]*$", covered)  # no rule had a part
        self.assertEqual(self.login_events("verify"), [])

    def test_6_role_covered_login_from_outside_the_lab_asks_for_a_code(self):
        c, grant = self.login_under_grant("127.0.0.2", code=self.lab_user.totp.fresh_code)
        self.assertEqual(c.prompts, ["code"], c)
        self.assertTrue(all(c.echo_off), c)
        self.assertNotIn(c.codes[0], c.output, c)
        self.assert_logged_in(c, "127.0.0.2", grant)
        self.assert_asked_by_rule_from_outside()
        verified = self.login_events("verify")
        self.assertEqual(len(verified), 1, verified)
        # The code asked for inside the grant is judged by the rule that asked.
        expected = ("ok", "code accepted; rule outside-lab-login")
        self.assertEqual((verified[0]["result"], verified[0]["reason"]), expected, verified)

    def test_7_wrong_code_at_a_login_from_outside_the_lab_is_refused(self):
        # Last: a wrong code raises the lab user's risk.
        c, grant = self.login_under_grant("127.0.0.2", code=self.lab_user.totp.wrong_code)
        self.assertEqual(c.prompts, ["code"], c)
        self.assertEqual(c.exit_status, 255, c)
        self.assertTrue(c.saw(r"Permission denied"), c)
        self.assertNotIn("LOGGED-IN", c.output, c)
        self.assert_asked_by_rule_from_outside()
        refused = self.login_events("verify")
        self.assertEqual(len(refused), 1, refused)
        expected = ("denied", "wrong verification code; rule outside-lab-login")
        self.assertEqual((refused[0]["result"], refused[0]["reason"]), expected, refused)
        self.assertEqual(self.login_events("session-open"), [])
        self.assertEqual([g["id"] for g in self.daemon.grants(self.lab_user)], [grant["id"]])


if __name__ == "__main__":
    e2e.main()
