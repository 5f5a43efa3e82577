#!/usr/bin/env python3
"""End-to-end: the real sudo with pam_elevate.so, push approval through a
real HTTPS push provider, and the approval workflow with real approvers.

The push provider is tests/push/webhook_server.py on 127.0.0.1 (a test CA
from tests/push/make_test_ca.sh; the daemon gets its ca_file and the shared
secret in its 0600 config). Its script says how the "phone" answers each
user's challenges (approve, deny, fraud, timeout) and is changed between
attempts; its request log shows which attempts sent a push at all.

As in test_sudo.py, a sudoers drop-in points each test user's sudo at a test
PAM service, and credential caching is off, so every sudo goes through PAM:

  auth     required pam_elevate.so socket=... activate=ROLE [approval_wait=30]
  account  required pam_elevate.so socket=... require_grant=ROLE

Roles: pe-push (factor push: no prompt, a push at once), pe-any (factor
any: "Verification code (or press Enter for push): "), pe-appr (approval by
user:elve2e-appr; 20 s grants). Approvers act with the real elevatectl, as
themselves, typing their own code (oathtool) on standard input, while the
requester's sudo waits. Role group membership is checked through the built
libnss_elevate with `getent group` (e2e.getent_group).
"""

import json
import os
import re
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import elevate_e2e as e2e  # noqa: E402

PUSH_TIMEOUT = 10  # [push] timeout, seconds (the smallest the daemon takes)
APPROVAL_WAIT = 30  # pam_elevate approval_wait=
GRANT_SECONDS = 20  # pe-appr default_duration
DEVICE = "Pixel 8"
DENY_REASON = "change freeze until Monday"
SOURCE = "test_push_sudo.py"  # named in the PAM services' header

ROLES = """
[[role]]
name = "pe-push"
gid = 61931
eligible_users = ["elve2e-push"]
default_duration = "30m"
max_duration = "1h"
factor = "push"

[[role]]
name = "pe-any"
gid = 61932
eligible_users = ["elve2e-any", "elve2e-fraud"]
default_duration = "30m"
max_duration = "1h"
factor = "any"

[[role]]
name = "pe-appr"
gid = 61933
eligible_users = ["elve2e-req", "elve2e-req2"]
default_duration = "%ds"
max_duration = "1h"
approval = { approvers = ["user:elve2e-appr"], count = 1, timeout = "1h" }
""" % GRANT_SECONDS

PUSH_SENT = r"Push sent to %s, waiting up to %d s\.\.\." % (re.escape(DEVICE), PUSH_TIMEOUT)
WAITING = r"Waiting for approval of request (\d+) by (\S+) \(up to (\d+) s\)\.\.\."


class PushSudoE2E(e2e.SudoAssertions, unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.ws = e2e.Workspace.for_test_class(cls, "push")
        cls.push_user = cls.ws.user("push")
        cls.any_user = cls.ws.user("any")
        cls.fraud_user = cls.ws.user("fraud")
        cls.requester = cls.ws.user("req")
        cls.requester2 = cls.ws.user("req2")
        cls.approver = cls.ws.user("appr")
        cls.users = [cls.push_user, cls.any_user, cls.fraud_user, cls.requester, cls.requester2, cls.approver]
        cls.server = e2e.WebhookServer(cls.ws, {"default": "approve"}, device=DEVICE)
        cls.daemon = e2e.running_daemon(cls.ws, ROLES, enroll=cls.users,
                                        extra=cls.server.config(timeout="%ds" % PUSH_TIMEOUT))
        module = e2e.pam_module()
        sock = cls.daemon.socket
        services = {
            cls.push_user: ("elevate-e2e-push-push", e2e.sudo_pam_stack(module, sock, "pe-push", SOURCE)),
            cls.any_user: ("elevate-e2e-push-any", e2e.sudo_pam_stack(module, sock, "pe-any", SOURCE)),
            cls.requester: ("elevate-e2e-push-appr",
                            e2e.sudo_pam_stack(module, sock, "pe-appr", SOURCE, "approval_wait=%d" % APPROVAL_WAIT)),
        }
        for name, text in services.values():
            cls.ws.pam_service(name, text)
        service_of = {u.name: services[u][0] for u in services}
        service_of[cls.fraud_user.name] = service_of[cls.any_user.name]
        service_of[cls.requester2.name] = service_of[cls.requester.name]
        cls.ws.sudoers("elevate-e2e-push",
                       "# elevate end-to-end test (tests/e2e/test_push_sudo.py); removed after the test.\n"
                       + "".join(e2e.sudoers_for(u, s) for u, s in sorted(service_of.items())))

    def setUp(self):
        self.assertTrue(self.server.running(), self.server.stderr())
        self.assertTrue(self.daemon.running(), self.daemon.log())
        self.server.set_script({"default": "approve"})
        for u in self.users:
            self.daemon.drop_all(u)

    # -- helpers

    def sudo(self, user, code=None, code_prompt=e2e.CODE_PROMPT, timeout=30, after=None):
        """`sudo -k -u root id -un` as `user` on a pty: the command prints
        "root" when it ran. code() is called at a code prompt."""
        argv = e2e.as_user(user, ["sudo", "-k", "-u", "root", "id", "-un"])
        return e2e.converse(argv, code=code, env={"HOME": user.home, "USER": user.name}, timeout=timeout,
                            code_prompt=code_prompt, after_login=after)

    def no_prompt(self):
        self.fail("sudo asked for a verification code")

    def assert_shows(self, c, pattern):
        self.assertRegex(c.output, pattern, c)

    def grants(self, user):
        return self.daemon.grants(user)

    def roles(self, user):
        return [g["role"] for g in self.grants(user)]

    def requests(self, user, all=False):
        """`elevatectl requests [--all]` as `user`: pending ones (theirs or
        theirs to decide); with all, also theirs decided in the last 24 h."""
        r = self.daemon.ctl(["requests"] + (["--all"] if all else []), user=user, json_out=True)
        self.assertEqual(r.returncode, 0, r)
        return json.loads(r.stdout)["requests"]

    def members(self, group):
        return e2e.getent_group(self.daemon, group)[1] or []

    # -- 1. a push-only role: no prompt, the push is sent at once

    def test_1_push_role_sends_a_push_and_approval_runs_the_command(self):
        self.server.set_script({"default": "approve", "delay": 1})
        before = len(self.server.challenges(self.push_user))
        c = self.sudo(self.push_user, code=self.no_prompt)
        self.assertEqual(c.prompts, [], c)
        self.assert_shows(c, PUSH_SENT)
        self.assertNotRegex(c.output, r"Verification code", c)
        self.assert_ran_as_root(c)
        self.assertEqual(len(self.server.challenges(self.push_user)), before + 1, self.server.requests())
        grants = self.grants(self.push_user)
        self.assertEqual([g["role"] for g in grants], ["pe-push"], grants)
        self.assertEqual(grants[0].get("factor"), "push", grants)
        r = self.daemon.ctl(["status"], user=self.push_user)
        self.assertEqual(r.returncode, 0, r)
        self.assertRegex(r.stdout, r"pe-push", r.stdout)
        # The next sudo is covered by the grant: no push, no prompt.
        c = self.sudo(self.push_user, code=self.no_prompt)
        self.assert_ran_as_root(c)
        self.assertNotRegex(c.output, r"Push sent", c)
        self.assertEqual(len(self.server.challenges(self.push_user)), before + 1, self.server.requests())

    # -- 2. factor "any": one prompt, Enter for a push or a code

    def test_2a_any_role_enter_sends_a_push(self):
        before = len(self.server.challenges(self.any_user))
        c = self.sudo(self.any_user, code=None, code_prompt=e2e.ANY_CODE_PROMPT)
        self.assertEqual(c.prompts, ["code"], c)
        self.assertRegex(c.prompt_texts[0], e2e.CODE_OR_PUSH_PROMPT, c)
        self.assertTrue(all(c.echo_off), c)
        self.assert_shows(c, PUSH_SENT)
        self.assert_ran_as_root(c)
        self.assertEqual(len(self.server.challenges(self.any_user)), before + 1, self.server.requests())
        grants = self.grants(self.any_user)
        self.assertEqual([(g["role"], g.get("factor")) for g in grants], [("pe-any", "push")], grants)

    def test_2b_any_role_a_typed_code_sends_no_push(self):
        before = len(self.server.challenges(self.any_user))
        c = self.sudo(self.any_user, code=self.any_user.totp.fresh_code, code_prompt=e2e.ANY_CODE_PROMPT)
        self.assertEqual(c.prompts, ["code"], c)
        self.assertRegex(c.prompt_texts[0], e2e.CODE_OR_PUSH_PROMPT, c)
        self.assertTrue(all(c.echo_off), c)
        self.assertNotIn(c.codes[0], c.output, "the code was shown on the terminal: %s" % c)
        self.assertNotRegex(c.output, r"Push sent", c)
        self.assert_ran_as_root(c)
        # The provider never heard of this attempt.
        self.assertEqual(len(self.server.challenges(self.any_user)), before, self.server.requests())
        grants = self.grants(self.any_user)
        self.assertEqual([(g["role"], g.get("factor")) for g in grants], [("pe-any", "totp")], grants)

    # -- 3. the phone says no, or nothing

    def test_3a_denied_push_refuses_sudo(self):
        self.server.set_script({"default": "approve", "users": {self.push_user.name: "deny"}})
        before = len(self.server.challenges(self.push_user))
        c = self.sudo(self.push_user, code=self.no_prompt)
        self.assertEqual(c.prompts, [], c)
        self.assert_shows(c, PUSH_SENT)
        self.assert_refused(c)
        self.assert_shows(c, r"push denied on %s" % re.escape(DEVICE))
        self.assertEqual(len(self.server.challenges(self.push_user)), before + 1, self.server.requests())
        self.assertEqual(self.roles(self.push_user), [])

    def test_3b_unanswered_push_times_out(self):
        self.server.set_script({"default": "approve", "users": {self.push_user.name: "timeout"}})
        c = self.sudo(self.push_user, code=self.no_prompt, timeout=PUSH_TIMEOUT + 25)
        self.assertEqual(c.prompts, [], c)
        self.assert_shows(c, PUSH_SENT)
        self.assert_refused(c)
        self.assert_shows(c, r"no answer to the push")
        # It waited for the phone, and not much longer.
        # (The daemon's challenge times are whole seconds: up to 1 s early.)
        self.assertGreaterEqual(c.seconds, PUSH_TIMEOUT - 2, c)
        self.assertLess(c.seconds, PUSH_TIMEOUT + 15, c)
        self.assertEqual(self.roles(self.push_user), [])

    # -- 4. "this wasn't me": locked until an administrator unlocks

    def test_4_fraud_locks_until_unlock(self):
        user = self.fraud_user
        self.server.set_script({"default": "approve", "users": {user.name: "fraud"}})
        c = self.sudo(user, code=None, code_prompt=e2e.ANY_CODE_PROMPT)
        self.assertEqual(c.prompts, ["code"], c)
        self.assert_shows(c, PUSH_SENT)
        self.assert_refused(c)
        self.assert_shows(c, r"reported as fraud")
        self.assert_shows(c, r"elevation is locked for %s" % user.name)
        self.assertTrue(any(e.get("event") == "fraud" and e.get("user") == user.name for e in self.daemon.audit()),
                        self.daemon.audit())
        self.assertEqual(self.roles(user), [])

        # The phone would approve now; the lock holds anyway, for sudo with a
        # correct code at hand (the daemon does not even ask for one) ...
        self.server.set_script({"default": "approve"})
        challenges = len(self.server.challenges(user))
        c = self.sudo(user, code=user.totp.fresh_code, code_prompt=e2e.ANY_CODE_PROMPT)
        self.assert_refused(c)
        self.assert_shows(c, r"elevation is locked for %s" % user.name)
        self.assert_shows(c, r"elevatectl unlock %s" % user.name)
        # ... and for elevatectl with a correct code on stdin.
        r = self.daemon.activate(user, "pe-any")
        self.assertNotEqual(r.returncode, 0, r)
        self.assertIn("elevation is locked for %s" % user.name, r.stderr + r.stdout, r)
        self.assertEqual(len(self.server.challenges(user)), challenges, self.server.requests())
        self.assertEqual(self.roles(user), [])

        # The user cannot lift it; root can.
        r = self.daemon.ctl(["unlock", user.name], user=user)
        self.assertNotEqual(r.returncode, 0, r)
        r = self.daemon.ctl(["unlock", user.name])
        self.assertEqual(r.returncode, 0, r)
        c = self.sudo(user, code=user.totp.fresh_code, code_prompt=e2e.ANY_CODE_PROMPT)
        self.assertEqual(c.prompts, ["code"], c)
        self.assert_ran_as_root(c)
        self.assertEqual(self.roles(user), ["pe-any"])

    # -- 5. approval: the approver approves while the requester's sudo waits

    def _while_waiting(self, decide):
        """An after_login hook for converse: when sudo shows "Waiting for
        approval of request N by ...", checks the request is pending and
        runs decide(N) (the approver's elevatectl), keeping its result."""
        seen = {}

        def hook(child, conv):
            self.assertNotIn("id", seen, "a second wait announced: %s" % conv.output)
            n = int(child.match.group(1))
            seen.update(id=n, approvers=child.match.group(2), wait=int(child.match.group(3)))
            self.assertTrue(child.isalive(), "sudo is no longer waiting")
            pending = [r for r in self.requests(self.approver) if r["id"] == n]
            self.assertEqual([(r["state"], r["can_decide"]) for r in pending], [("pending", True)], pending)
            seen["result"] = decide(n)

        return seen, (WAITING, hook)

    def test_5_approval_while_sudo_waits_then_the_grant_ends(self):
        req, appr = self.requester, self.approver
        self.assertNotIn(req.name, self.members("pe-appr"))

        def approve(n):
            return self.daemon.ctl(["approve", str(n)], user=appr, input=appr.totp.fresh_code() + "\n")

        seen, hook = self._while_waiting(approve)
        c = self.sudo(req, code=req.totp.fresh_code, timeout=APPROVAL_WAIT + 20, after=hook)
        self.assertIn("id", seen, c)
        n = seen["id"]
        self.assertEqual(seen["approvers"], "user:%s" % appr.name, c)
        self.assertEqual(seen["wait"], APPROVAL_WAIT, c)
        r = seen["result"]
        self.assertEqual(r.returncode, 0, r)
        self.assertEqual(c.prompts, ["code"], c)
        self.assert_ran_as_root(c)
        # ("Request N approved by ...: granted ..." is informational: sudo
        # passes PAM_SILENT, so the terminal does not show it.)
        self.assertNotRegex(c.output, r"still waiting|denied|expired|Could not learn", c)
        self.assertLess(c.seconds, APPROVAL_WAIT, c)  # it did not sit out the whole wait
        # The daemon granted on the approver's word, with the approver's own factor.
        trail = [(e["event"], e["actor"], e["result"]) for e in self.daemon.audit()
                 if e.get("user") == req.name and e.get("role") == "pe-appr"]
        self.assertIn(("approve", appr.name, "ok"), trail, trail)
        self.assertIn(("activate", appr.name, "ok"), trail, trail)

        grants = self.grants(req)
        self.assertEqual([g["role"] for g in grants], ["pe-appr"], grants)
        self.assertEqual(grants[0]["end"] - grants[0]["start"], GRANT_SECONDS, grants)
        mine = [x for x in self.requests(req, all=True) if x["id"] == n]
        self.assertEqual([(x["state"], x["decided_by"]) for x in mine], [("approved", appr.name)], mine)

        # The role group lists the requester while the grant lasts ...
        self.assertIn(req.name, self.members("pe-appr"))
        self.assertNotIn(appr.name, self.members("pe-appr"))
        # ... and not after its end.
        end = grants[0]["end"]
        while time.time() < end + 1.5:
            time.sleep(0.2)
        self.assertNotIn(req.name, self.members("pe-appr"))
        self.assertEqual(self.roles(req), [])

        # Without a grant, sudo asks again; pressing Enter gets nothing (and
        # makes no new request).
        c = self.sudo(req, code=None)
        self.assertEqual(c.prompts, ["code"], c)
        self.assert_refused(c)
        self.assert_shows(c, r"No verification code was entered")
        self.assertEqual([x["id"] for x in self.requests(req) if x["state"] == "pending"], [])

    # -- 6. approval denied while sudo waits

    def test_6_denial_while_sudo_waits(self):
        req, appr = self.requester2, self.approver

        def deny(n):
            return self.daemon.ctl(["deny", str(n), "--reason", DENY_REASON], user=appr)

        seen, hook = self._while_waiting(deny)
        c = self.sudo(req, code=req.totp.fresh_code, timeout=APPROVAL_WAIT + 20, after=hook)
        self.assertIn("id", seen, c)
        n = seen["id"]
        r = seen["result"]
        self.assertEqual(r.returncode, 0, r)
        self.assertEqual(c.prompts, ["code"], c)
        self.assert_refused(c)
        self.assert_shows(c, r"Request %d was denied by %s" % (n, appr.name))
        self.assertLess(c.seconds, APPROVAL_WAIT, c)
        self.assertEqual(self.roles(req), [])
        self.assertNotIn(req.name, self.members("pe-appr"))
        mine = [x for x in self.requests(req, all=True) if x["id"] == n]
        self.assertEqual([(x["state"], x["decided_by"]) for x in mine], [("denied", appr.name)], mine)

    def test_6b_denial_shows_the_approvers_reason(self):
        """pam_elevate(8): "Request N was denied by WHO: MESSAGE.", the
        message being the reason the approver gave (request_wait's reply
        carries it as its message)."""
        req, appr = self.requester2, self.approver
        seen, hook = self._while_waiting(
            lambda n: self.daemon.ctl(["deny", str(n), "--reason", DENY_REASON], user=appr))
        c = self.sudo(req, code=req.totp.fresh_code, timeout=APPROVAL_WAIT + 20, after=hook)
        self.assertIn("id", seen, c)
        self.assertEqual(seen["result"].returncode, 0, seen["result"])
        self.assert_refused(c)
        self.assert_shows(c, r"Request %d was denied by %s: %s\." % (seen["id"], appr.name, re.escape(DENY_REASON)))


if __name__ == "__main__":
    e2e.main()
