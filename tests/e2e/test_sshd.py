#!/usr/bin/env python3
"""End-to-end: the real sshd with pam_elevate.so, on 127.0.0.1.

sshd is a copy of /usr/sbin/sshd named elevate-e2e-sshd: OpenSSH uses its
program name as the PAM service name, so it reads /etc/pam.d/elevate-e2e-sshd
and the system's /etc/pam.d/sshd is never touched. It has its own host key,
its own sshd_config (keyboard-interactive only, through PAM) and its own
port. The service:

  auth     required pam_elevate.so socket=...                      (TOTP)
  account  required pam_elevate.so socket=... require_grant=db-admin,db-term
  session  required pam_elevate.so socket=...

The ssh client runs on a pty (pexpect) and answers "Verification code:"
with a code oathtool computes at that moment.
"""

import os
import shutil
import socket
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import elevate_e2e as e2e  # noqa: E402

SERVICE = "elevate-e2e-sshd"
SSHD = "/usr/sbin/sshd"
PRIVSEP_DIR = "/run/sshd"

ROLES = """
[[role]]
name = "db-admin"
gid = 61911
eligible_users = ["elve2e-ssh"]
default_duration = "30m"
max_duration = "1h"

[[role]]
name = "db-term"
gid = 61912
eligible_users = ["elve2e-ssh"]
default_duration = "4s"
max_duration = "1m"
on_expiry = "terminate"
"""


class Sshd:
    """A real sshd under its own name, config, host key and port. `service`
    (the program's name, so its PAM service) lets a workspace run more than
    one, each with its own stack."""

    def __init__(self, ws, pam_stack, service=SERVICE):
        assert service.startswith(e2e.FILE_PREFIX + "sshd"), service
        self.ws = ws
        self.service = service
        self.binary = ws.file(service)
        self.config = ws.file(service + ".sshd_config")
        self.host_key = ws.file(service + ".ssh_host_ed25519_key")
        self.pid_file = ws.file(service + ".pid")
        self.log_path = ws.file(service + ".log")
        self.port = e2e.free_port()
        self.proc = None
        ws.logs.append(("%s log" % service, self.log_path))
        shutil.copyfile(SSHD, self.binary)
        os.chmod(self.binary, 0o755)
        e2e.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "elevate-e2e", "-f", self.host_key],
                check=True)
        with open(self.config, "w") as f:
            f.write(
                "# elevate end-to-end test sshd (tests/e2e/test_sshd.py)\n"
                "ListenAddress 127.0.0.1\n"
                "Port %d\n"
                "HostKey %s\n"
                "PidFile %s\n"
                "UsePAM yes\n"
                "KbdInteractiveAuthentication yes\n"
                "PasswordAuthentication no\n"
                "PubkeyAuthentication no\n"
                "HostbasedAuthentication no\n"
                "GSSAPIAuthentication no\n"
                "AuthenticationMethods keyboard-interactive\n"
                "PermitRootLogin no\n"
                "StrictModes no\n"
                "UseDNS no\n"
                "PrintMotd no\n"
                "PrintLastLog no\n"
                "X11Forwarding no\n"
                "AllowTcpForwarding no\n"
                "MaxAuthTries 3\n"
                "LoginGraceTime 30\n"
                "LogLevel VERBOSE\n" % (self.port, self.host_key, self.pid_file))
        ws.pam_service(service, pam_stack)
        # The privilege-separation directory Debian's sshd expects; created
        # only if missing, and removed again only if we created it.
        if not os.path.isdir(PRIVSEP_DIR):
            ws.note("dir", PRIVSEP_DIR)
            os.makedirs(PRIVSEP_DIR, 0o755)
            ws.add_cleanup(_rmdir_if_empty, PRIVSEP_DIR)
        r = e2e.run([self.binary, "-t", "-f", self.config])
        if r.returncode != 0:
            raise RuntimeError("sshd -t rejects the test config: %s%s" % (r.stdout, r.stderr))

    def start(self):
        logf = open(self.log_path, "ab")
        try:
            self.proc = subprocess.Popen([self.binary, "-D", "-e", "-f", self.config], stdin=subprocess.DEVNULL,
                                         stdout=logf, stderr=logf, env=dict(e2e.BASE_ENV), start_new_session=True)
        finally:
            logf.close()
        self.ws.track_pid(self.proc.pid, self.binary)
        self.ws.add_cleanup(self.stop)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("sshd exited at start-up:\n" + self.log())
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("sshd does not listen on port %d:\n%s" % (self.port, self.log()))

    def client(self, user, command, tty=False, bind=None):
        """The ssh command line that logs `user` in with keyboard-interactive
        and runs `command`; `bind`: the client's source address (ssh -b)."""
        argv = ["ssh", "-F", "/dev/null", "-p", str(self.port),
                "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
                "-o", "PreferredAuthentications=keyboard-interactive", "-o", "NumberOfPasswordPrompts=1",
                "-o", "ConnectTimeout=10", "-o", "ServerAliveInterval=2"]
        if bind:
            argv += ["-b", bind]
        if tty:
            argv.append("-tt")
        return argv + ["%s@127.0.0.1" % user.name, command]

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            e2e.terminate(self.proc)
        # Connection processes outlive the listener; they all run our copy.
        e2e.kill_pids([p for p in e2e.all_pids() if e2e.exe_of(p) == self.binary])

    def log(self):
        try:
            with open(self.log_path, errors="replace") as f:
                return f.read()
        except OSError:
            return ""


def _rmdir_if_empty(path):
    try:
        os.rmdir(path)
    except OSError:
        pass


class SshdE2E(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.ws = e2e.Workspace.for_test_class(cls, "sshd")
        cls.user = cls.ws.user("ssh")
        cls.daemon = e2e.running_daemon(cls.ws, ROLES, enroll=[cls.user])
        m, s = e2e.pam_module(), cls.daemon.socket
        cls.sshd = Sshd(cls.ws, e2e.sshd_pam_stack(m, s, "db-admin,db-term", "tests/e2e/test_sshd.py"))
        cls.sshd.start()

    def setUp(self):
        self.daemon.drop_all(self.user)
        self.assertEqual(self.daemon.grants(self.user), [])
        self.mark = len(self.daemon.audit())

    # -- helpers

    def ssh(self, command, code, tty=False, after_login=None, timeout=30):
        return e2e.converse(self.sshd.client(self.user, command, tty=tty), code=code, timeout=timeout,
                            after_login=after_login, env={"HOME": "/root"})

    def events(self, name=None):
        return [e for e in self.daemon.audit_since(self.mark)
                if e.get("user") == self.user.name and (name is None or e.get("event") == name)]

    def assert_code_hidden(self, c):
        self.assertTrue(all(c.echo_off), "echo was on at the code prompt: %s" % c)
        for code in c.codes:
            self.assertNotIn(code, c.output, c)

    # -- scenarios

    def test_1_login_refused_without_a_grant(self):
        c = self.ssh("echo LOGGED-IN", code=self.user.totp.fresh_code)
        self.assertEqual(c.prompts, ["code"], c)
        self.assert_code_hidden(c)
        self.assertEqual(c.exit_status, 255, c)
        self.assertNotIn("LOGGED-IN", c.output, c)
        self.assertTrue(c.saw(r"Permission denied"), c)
        # The code was right; the account step said no, and said why.
        self.assertTrue(c.saw(r"No active grant for db-admin or db-term"), c)
        account = self.events("account")
        self.assertTrue(account and account[-1]["result"] == "denied", self.events())
        self.assertIn(SERVICE, account[-1]["source"])  # the copy's name is the PAM service
        self.assertEqual(self.events("session-open"), [])

    def test_2_login_accepted_with_a_grant(self):
        r = self.daemon.activate(self.user, "db-admin", reason="INC-4711 ssh")
        self.assertEqual(r.returncode, 0, r)
        c = self.ssh("echo LOGGED-IN; id -un", code=self.user.totp.fresh_code)
        self.assertEqual(c.prompts, ["code"], c)
        self.assert_code_hidden(c)
        self.assertEqual(c.exit_status, 0, c)
        self.assertIn("LOGGED-IN", c.output, c)
        self.assertIn(self.user.name, c.output.split(), c)
        account = self.events("account")
        self.assertTrue(account and account[-1]["result"] == "ok", self.events())
        self.assertEqual(account[-1]["role"], "db-admin")
        opened = self.events("session-open")
        self.assertEqual(len(opened), 1, self.events())
        self.assertEqual(opened[0]["role"], "db-admin")
        self.assertTrue(e2e.wait_until(lambda: self.events("session-close"), 10), self.events())

    def test_3_session_ends_when_a_terminate_grant_expires(self):
        r = self.daemon.activate(self.user, "db-term")
        self.assertEqual(r.returncode, 0, r)
        grant = self.daemon.grants(self.user)[0]
        self.assertEqual((grant["role"], grant["end"] - grant["start"]), ("db-term", 4))
        seen = {}

        def logged_in(child, conv):
            seen["at"] = time.time()

        c = self.ssh("echo LOGGED-IN; sleep 60", code=self.user.totp.fresh_code, tty=True,
                     after_login=("LOGGED-IN", logged_in), timeout=40)
        ended = time.time()
        self.assertIn("at", seen, c)
        self.assertLess(seen["at"], grant["end"], "logged in after the grant ended: %s" % c)
        # Ended by the daemon soon after the end time, not by `sleep 60`.
        self.assertLess(ended - seen["at"], 12, c)
        self.assertGreaterEqual(ended, grant["end"] - 0.5, c)
        self.assertNotEqual(c.exit_status, 0, c)
        terminated = self.events("session-terminate")
        self.assertEqual(len(terminated), 1, self.events())
        self.assertEqual(terminated[0]["role"], "db-term")
        self.assertEqual(terminated[0]["grant_id"], grant["id"])
        # Nothing of the session survives (SIGKILL follows SIGTERM after 3 s).
        self.assertTrue(e2e.wait_until(lambda: not e2e.user_pids(self.user.uid), 6),
                        "processes of %s still running" % self.user.name)
        e2e.log("what the ssh user saw when the grant ended:\n" + c.output)


if __name__ == "__main__":
    e2e.main()
