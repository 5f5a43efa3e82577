"""Shared helpers for the end-to-end tests: a real elevated with its own
config, real test users, real files under /etc (PAM service, sudoers drop-in),
TOTP codes from oathtool at the moment a prompt appears, and pexpect to play
the person at the keyboard of sudo and ssh.

Everything a test creates is written to a manifest in its temporary
directory before it is created, and undone by a cleanup stack that runs on
success, on failure, at exit and on SIGTERM, SIGHUP or Ctrl-C. A run killed
outright (SIGKILL, a ctest timeout, power loss) is cleaned up by the next
run: `preclean()` undoes the manifests of dead runs and sweeps anything
left with our prefixes.

Run as root (the tests create users and files under /etc). Binaries come
from the environment (ctest sets them): ELEVATED_BIN, ELEVATECTL_BIN,
PAM_ELEVATE_SO.

With ELEVATE_E2E_INSTALLED=1 (tests/package sets it) the same tests run
against an installed package at its default paths: /usr/sbin/elevated with
no --config (the packaged /etc/elevate/elevate.conf plus a drop-in in
elevate.conf.d), the default socket, state and audit paths, PAM lines that
name `pam_elevate.so` without socket=, and getent through the system's own
nsswitch.conf, which the package wired.
"""

import atexit
import fcntl
import json
import os
import pwd
import random
import re
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import unittest

try:
    import pexpect
except ImportError:  # pragma: no cover - install-deps.sh installs it
    sys.stderr.write("elevate e2e: python3-pexpect is required (apt-get install python3-pexpect)\n")
    sys.exit(1)

USER_PREFIX = "elve2e-"            # test users
FILE_PREFIX = "elevate-e2e-"       # /etc/pam.d, /etc/sudoers.d, /tmp dirs
TMP_ROOT = "/tmp"
PAM_DIR = "/etc/pam.d"
SUDOERS_DIR = "/etc/sudoers.d"

INSTALLED = os.environ.get("ELEVATE_E2E_INSTALLED") == "1"
# The packaged daemon's paths (elevate.conf(5) defaults).
INSTALLED_SOCKET = "/run/elevate/elevated.sock"
INSTALLED_STATE_DIR = "/var/lib/elevate"
INSTALLED_AUDIT = "/var/log/elevate/audit.jsonl"
INSTALLED_SNAPSHOT = "/run/elevate/groups.snapshot"
INSTALLED_DROPIN_DIR = "/etc/elevate/elevate.conf.d"

PERIOD = 30        # [totp] period (default)
DRIFT_STEPS = 10   # [totp] drift_steps: many distinct valid codes at once

BASE_ENV = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C", "LC_ALL": "C", "TERM": "dumb"}

CODE_PROMPT = r"Verification code: ?"
# When the daemon offers a push as well as a code (pam_elevate(8), "Push").
CODE_OR_PUSH_PROMPT = r"Verification code \(or press Enter for push\): ?"
# Either of the two (converse(code_prompt=ANY_CODE_PROMPT)).
ANY_CODE_PROMPT = r"Verification code(?: \(or press Enter for push\))?: ?"
REASON_PROMPT = r"Reason for [A-Za-z0-9_-]+: ?"


def log(msg):
    sys.stderr.write("[e2e] " + msg + "\n")
    sys.stderr.flush()


def require_root():
    if os.geteuid() != 0:
        sys.stderr.write("elevate e2e tests must run as root (they create users and files under /etc)\n")
        sys.exit(1)


# --------------------------------------------------------------------------
# binaries

def _find_binary(env_name, candidates):
    value = os.environ.get(env_name)
    if value:
        if not os.path.exists(value):
            raise RuntimeError("%s=%s does not exist" % (env_name, value))
        return os.path.abspath(value)
    repo = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    for build in ("build-e2e", "build", "build/ci"):
        for c in candidates:
            p = os.path.join(repo, build, c)
            if os.path.exists(p):
                return p
    raise RuntimeError("%s is not set and no build tree has %s" % (env_name, candidates[0]))


def elevated_bin():
    if INSTALLED:
        return "/usr/sbin/elevated"
    return _find_binary("ELEVATED_BIN", ["daemon/elevated"])


def elevatectl_bin():
    if INSTALLED:
        return "/usr/bin/elevatectl"
    return _find_binary("ELEVATECTL_BIN", ["cli/elevatectl"])


def pam_module():
    """The module as a PAM line names it: the build's by path, or the
    installed one by name (libpam finds it in its own directory)."""
    if INSTALLED:
        return "pam_elevate.so"
    return _find_binary("PAM_ELEVATE_SO", ["pam_module/pam_elevate.so"])


def module_at(module, socket):
    """`module` with the daemon's socket as a PAM line passes it; nothing
    for an installed package, whose module knows the default socket."""
    return module if INSTALLED else "%s socket=%s" % (module, socket)


# --------------------------------------------------------------------------
# sudo pointed at a test PAM service (Workspace.pam_service, .sudoers)

def sudo_pam_stack(module, socket, role, source, auth_options="", session=False):
    """A test PAM service for sudo: auth activates `role`, account requires a
    grant of it. `source` (the test file) is named in its header comment.
    session=True adds the session line of conf/pam.d/sudo-elevate, which
    registers sudo's session so that the grant's end can end it."""
    return (
        "#%%PAM-1.0\n"
        "# elevate end-to-end test service (tests/e2e/%(src)s); removed after the test.\n"
        "auth     required %(m)s activate=%(r)s%(o)s\n"
        "account  required %(m)s require_grant=%(r)s\n"
        # sudo opens a PAM session for the command: give it a stack.
        "session  required pam_unix.so\n"
        "%(session)s"
    ) % {"src": source, "m": module_at(module, socket), "r": role, "o": (" " + auth_options) if auth_options else "",
         "session": ("session  required %s\n" % module_at(module, socket)) if session else ""}


def sshd_pam_stack(module, socket, require_grant, source):
    """A test PAM service for sshd: auth asks for the code, account requires
    a grant of one of `require_grant` (comma-separated), session registers
    the login. `source` (the test file) is named in its header comment."""
    m = module_at(module, socket)
    return (
        "#%%PAM-1.0\n"
        "# elevate end-to-end test service (%(src)s); removed after the test.\n"
        "auth     required %(m)s\n"
        "account  required %(m)s require_grant=%(r)s\n"
        "session  required %(m)s\n") % {"src": source, "m": m, "r": require_grant}


def sudoers_for(user, service):
    """Sudoers lines pointing `user`'s sudo at PAM `service`, with credential
    caching off, so every sudo goes through PAM."""
    return (
        "Defaults:%(u)s pam_service=%(s)s\n"
        "Defaults:%(u)s timestamp_timeout=0\n"
        "Defaults:%(u)s !lecture\n"
        # One attempt per sudo, so each scenario is one PAM transaction.
        "Defaults:%(u)s passwd_tries=1\n"
        "%(u)s ALL=(ALL:ALL) ALL\n"
    ) % {"u": user, "s": service}


class SudoAssertions:
    """For a unittest.TestCase that runs `sudo ... id -un` through converse():
    what its Conversation must show."""

    def assert_ran_as_root(self, c):
        self.assertEqual(c.exit_status, 0, c)
        self.assertIn("root", c.output.split(), c)

    def assert_refused(self, c):
        self.assertEqual(c.exit_status, 1, c)
        self.assertNotIn("root", c.output.split(), c)


# --------------------------------------------------------------------------
# small process helpers

def run(argv, input=None, timeout=30, check=False, env=None, user=None):
    """Runs argv without a controlling terminal (so programs read stdin),
    optionally as `user` (via setpriv), and returns CompletedProcess."""
    if user is not None:
        argv = as_user(user, argv)
    e = dict(BASE_ENV)
    if env:
        e.update(env)
    r = subprocess.run(argv, input=input, capture_output=True, text=True, timeout=timeout, env=e,
                       start_new_session=True)
    if check and r.returncode != 0:
        raise RuntimeError("%s failed (%d): %s%s" % (" ".join(argv), r.returncode, r.stdout, r.stderr))
    return r


def as_user(user, argv):
    """argv run as `user` with the user's own uid, gid and groups. setpriv
    changes nothing else: the tty stays, setuid programs (sudo) still work."""
    name = user if isinstance(user, str) else user.name
    return ["setpriv", "--reuid=" + name, "--regid=" + name, "--init-groups", "--"] + list(argv)


def pid_alive(pid):
    try:
        os.kill(pid, 0)
        return True
    except ProcessLookupError:
        return False
    except PermissionError:
        return True


def cmdline_of(pid):
    try:
        with open("/proc/%d/cmdline" % pid, "rb") as f:
            return f.read().replace(b"\0", b" ").decode("utf-8", "replace")
    except OSError:
        return ""


def exe_of(pid):
    try:
        return os.readlink("/proc/%d/exe" % pid)
    except OSError:
        return ""


def all_pids():
    for d in os.listdir("/proc"):
        if d.isdigit():
            yield int(d)


def uid_of_pid(pid):
    try:
        return os.stat("/proc/%d" % pid).st_uid
    except OSError:
        return None


def kill_pids(pids, grace=3.0):
    """SIGTERM, then SIGKILL what is left after `grace` seconds. Only the
    given pids: never by name."""
    pids = [p for p in pids if p > 1 and p != os.getpid()]
    for p in pids:
        try:
            os.kill(p, signal.SIGTERM)
        except ProcessLookupError:
            pass
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline and any(pid_alive(p) for p in pids):
        _reap()
        time.sleep(0.05)
    for p in pids:
        if pid_alive(p):
            try:
                os.kill(p, signal.SIGKILL)
            except ProcessLookupError:
                pass
    _reap()


def _reap():
    # Children of ours that ended (Popen objects also reap their own).
    try:
        while True:
            pid, _ = os.waitpid(-1, os.WNOHANG)
            if pid == 0:
                break
    except ChildProcessError:
        pass


def wait_until(predicate, timeout, interval=0.1):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            return value
        time.sleep(interval)


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def terminate(proc, timeout=5):
    """SIGTERM to `proc`, SIGKILL if it has not exited `timeout` seconds
    later; reaped either way."""
    proc.terminate()
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout)


# --------------------------------------------------------------------------
# cleanup: a stack of undo actions, a manifest for the next run

class Workspace:
    """A temporary directory (0711, so test users reach the socket and the
    elevatectl copy inside it), a manifest of everything created, and a
    cleanup stack run in reverse order."""

    def __init__(self, tag):
        self.path = tempfile.mkdtemp(prefix=FILE_PREFIX + tag + "-", dir=TMP_ROOT)
        os.chmod(self.path, 0o711)
        self.manifest = os.path.join(self.path, "manifest")
        with open(os.path.join(self.path, "owner"), "w") as f:
            f.write("%d %s\n" % (os.getpid(), _start_time(os.getpid())))
        self._undo = []
        self._closed = False
        self.logs = []  # (title, path): shown when a test fails
        self.add_cleanup(self._remove_dir)
        _live_workspaces.append(self)

    @classmethod
    def for_test_class(cls, test_class, tag):
        """A workspace for a TestCase's setUpClass, cleaned up after the
        class's tests (also when setUpClass fails later on)."""
        ws = cls(tag)
        test_class.addClassCleanup(ws.cleanup)
        return ws

    def note(self, kind, value):
        """Records what is about to be created, before creating it."""
        with open(self.manifest, "a") as f:
            f.write("%s %s\n" % (kind, value))

    def add_cleanup(self, fn, *args):
        self._undo.append((fn, args))

    def cleanup(self):
        if self._closed:
            return
        self._closed = True
        errors = []
        while self._undo:
            fn, args = self._undo.pop()
            try:
                fn(*args)
            except Exception as e:  # keep going: undo everything we can
                errors.append("%s%r: %s" % (getattr(fn, "__name__", fn), args, e))
        if self in _live_workspaces:
            _live_workspaces.remove(self)
        for e in errors:
            log("cleanup: " + e)

    def _remove_dir(self):
        shutil.rmtree(self.path, ignore_errors=True)

    def file(self, name):
        return os.path.join(self.path, name)

    # -- things created under /etc and users, each undone on cleanup

    def user(self, suffix):
        return TestUser(self, USER_PREFIX + suffix)

    def pam_service(self, service, text):
        assert service.startswith(FILE_PREFIX), service
        path = os.path.join(PAM_DIR, service)
        self.note("file", path)
        self.add_cleanup(_remove_file, path)
        _write_atomic(path, text, 0o644)
        return path

    def sudoers(self, name, text):
        assert name.startswith(FILE_PREFIX) and "." not in name, name  # sudo skips names with '.'
        staged = self.file("sudoers." + name)
        _write_atomic(staged, text, 0o440)
        r = run(["visudo", "-cf", staged])
        if r.returncode != 0:
            raise RuntimeError("visudo rejects the sudoers drop-in:\n%s%s\n%s" % (r.stdout, r.stderr, text))
        path = os.path.join(SUDOERS_DIR, name)
        self.note("file", path)
        self.add_cleanup(_remove_file, path)
        _write_atomic(path, text, 0o440)
        # The whole policy must still parse, or we would break sudo for everyone.
        r = run(["visudo", "-c"])
        if r.returncode != 0:
            _remove_file(path)
            raise RuntimeError("visudo -c fails with the drop-in installed: %s%s" % (r.stdout, r.stderr))
        return path

    def track_pid(self, pid, marker):
        """A process to end on cleanup; `marker` must appear in its command
        line or executable path for a later run to kill it (pid reuse)."""
        self.note("pid", "%d %s" % (pid, marker))


def _start_time(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return "0"


def _write_atomic(path, text, mode):
    tmp = path + ".e2e-tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, mode)
    with os.fdopen(fd, "w") as f:
        f.write(text)
    os.chmod(tmp, mode)
    os.rename(tmp, path)


def _remove_file(path):
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


_live_workspaces = []


def _cleanup_all():
    for w in list(reversed(_live_workspaces)):
        w.cleanup()


def _on_signal(signum, frame):
    # Turn SIGTERM (ctest timeout, Ctrl-C) into a normal exit so the cleanup
    # stack and atexit run.
    raise SystemExit(128 + signum)


atexit.register(_cleanup_all)
signal.signal(signal.SIGTERM, _on_signal)
signal.signal(signal.SIGHUP, _on_signal)


class TestUser:
    """A real Unix user (useradd -m), removed with its processes and home."""

    def __init__(self, ws, name):
        assert name.startswith(USER_PREFIX) and len(name) <= 32, name
        self.name = name
        _remove_user(name)  # a leftover of an aborted run
        ws.note("user", name)
        ws.add_cleanup(_remove_user, name)
        r = run(["useradd", "-m", "-s", "/bin/sh", "-c", "elevate e2e test user", name])
        if r.returncode != 0:
            raise RuntimeError("useradd %s: %s" % (name, r.stderr))
        pw = pwd.getpwnam(name)
        self.uid, self.gid, self.home = pw.pw_uid, pw.pw_gid, pw.pw_dir
        self.totp = None  # set by Daemon.enroll

    def __str__(self):
        return self.name


def user_pids(uid):
    return [p for p in all_pids() if uid_of_pid(p) == uid]


def _remove_user(name):
    try:
        uid = pwd.getpwnam(name).pw_uid
    except KeyError:
        run(["groupdel", name])  # a user group left behind by an aborted run
        return
    if uid == 0:
        return
    kill_pids(user_pids(uid), grace=1.0)
    r = run(["userdel", "-r", "-f", name])
    if r.returncode not in (0, 6, 12):  # 6: no such user; 12: could not remove home/mail
        log("userdel %s: %s" % (name, r.stderr.strip()))
    run(["groupdel", name])  # no-op when userdel removed it


LOCK_PATH = "/run/lock/elevate-e2e.lock"
_lock_fd = None


def acquire_lock(timeout=240):
    """One e2e run at a time on this machine, whichever build tree it comes
    from: runs share user names, /etc/pam.d and /etc/sudoers.d file names.
    (ctest's RUN_SERIAL only orders the tests of one ctest invocation.) The
    kernel drops the lock when the process ends, however it ends."""
    global _lock_fd
    if _lock_fd is not None:
        return
    os.makedirs(os.path.dirname(LOCK_PATH), exist_ok=True)
    fd = os.open(LOCK_PATH, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC | os.O_NOFOLLOW, 0o600)
    deadline = time.monotonic() + timeout
    told = False
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            break
        except BlockingIOError:
            if time.monotonic() >= deadline:
                raise RuntimeError("another elevate e2e run holds %s for more than %ds" % (LOCK_PATH, timeout))
            if not told:
                log("waiting for another elevate e2e run to finish (%s)" % LOCK_PATH)
                told = True
            time.sleep(0.5)
    _lock_fd = fd


def preclean():
    """Undoes what aborted earlier runs left behind: their daemons and sshd
    (by recorded pid, checked against the command line), users and files
    under /etc, then anything with our prefixes that no live run claims.
    Call it with the lock held (acquire_lock)."""
    claimed_users, claimed_files = set(), set()
    for entry in sorted(os.listdir(TMP_ROOT)):
        if not entry.startswith(FILE_PREFIX):
            continue
        d = os.path.join(TMP_ROOT, entry)
        if not os.path.isdir(d) or os.path.islink(d):
            continue
        owner_alive = False
        try:
            with open(os.path.join(d, "owner")) as f:
                pid_s, start = f.read().split()
            owner_alive = pid_alive(int(pid_s)) and _start_time(int(pid_s)) == start
        except (OSError, ValueError):
            pass
        items = []
        try:
            with open(os.path.join(d, "manifest")) as f:
                items = [line.rstrip("\n").split(" ", 1) for line in f if " " in line]
        except OSError:
            pass
        if owner_alive:
            for kind, value in items:
                if kind == "user":
                    claimed_users.add(value)
                elif kind == "file":
                    claimed_files.add(value)
            continue
        log("cleaning up after an aborted run: " + d)
        pids = []
        for kind, value in items:
            if kind == "pid":
                pid_s, marker = value.split(" ", 1)
                pid = int(pid_s)
                if pid_alive(pid) and (marker in cmdline_of(pid) or marker in exe_of(pid)):
                    pids.append(pid)
        # Processes still running a binary copied into that directory (sshd
        # connection children outlive the listener).
        for p in all_pids():
            if exe_of(p).startswith(d + "/"):
                pids.append(p)
        kill_pids(pids)
        for kind, value in items:
            if kind == "user":
                _remove_user(value)
            elif kind == "file":
                _remove_file(value)
            elif kind == "dir":
                try:
                    os.rmdir(value)  # only if empty
                except OSError:
                    pass
        shutil.rmtree(d, ignore_errors=True)
    # Anything with our prefix that no live run claims.
    for pw in pwd.getpwall():
        if pw.pw_name.startswith(USER_PREFIX) and pw.pw_name not in claimed_users:
            log("removing leftover user " + pw.pw_name)
            _remove_user(pw.pw_name)
    for base in (PAM_DIR, SUDOERS_DIR, INSTALLED_DROPIN_DIR):
        if not os.path.isdir(base):
            continue
        for entry in os.listdir(base):
            p = os.path.join(base, entry)
            if entry.startswith(FILE_PREFIX) and p not in claimed_files:
                log("removing leftover " + p)
                _remove_file(p)


# --------------------------------------------------------------------------
# TOTP, computed independently by oathtool

def oathtool_code(secret, epoch):
    r = run(["oathtool", "--totp", "-b", secret, "-N", "@%d" % epoch], check=True)
    return r.stdout.strip()


class Totp:
    """One user's authenticator. Every code is computed when it is asked
    for (at the moment of the prompt). fresh_code() hands out ever later
    time-steps, so codes are distinct and none is a replay or older than one
    already used (the daemon accepts only a later step) by accident."""

    def __init__(self, secret):
        self.secret = secret
        self.last_step = -1

    @staticmethod
    def step_now():
        return int(time.time()) // PERIOD

    def code_at_step(self, step):
        return oathtool_code(self.secret, step * PERIOD + PERIOD // 2)

    def fresh_code(self):
        now = self.step_now()
        step = max(now, self.last_step + 1)
        if step > now + DRIFT_STEPS:
            raise RuntimeError("no later TOTP step left in the window")
        self.last_step = step
        return self.code_at_step(step)

    def wrong_code(self):
        """A code valid at no step the daemon could accept now."""
        now = self.step_now()
        valid = {self.code_at_step(now + d) for d in range(-DRIFT_STEPS - 2, DRIFT_STEPS + 3)}
        while True:
            c = "%06d" % random.randrange(1000000)
            if c not in valid:
                return c


# --------------------------------------------------------------------------
# the daemon

class Daemon:
    """A real elevated, as root, on a socket, state dir and audit file in the
    workspace. `roles` is TOML appended to the generated head."""

    def __init__(self, ws, roles, lockout_max_failures=50, extra=""):
        """`extra`: more TOML between the generated head and the roles
        (e.g. [push], [push.webhook], [notify] from WebhookServer.config).
        The file is root's and 0600 from the start: it may hold secrets."""
        self.ws = ws
        self.log_path = ws.file("elevated.log")
        ws.logs.append(("elevated log", self.log_path))
        if INSTALLED:
            # The package's paths; the test's settings and roles go into a
            # drop-in beside the packaged elevate.conf.
            self.socket = INSTALLED_SOCKET
            self.state_dir = INSTALLED_STATE_DIR
            self.audit_path = INSTALLED_AUDIT
            self.snapshot = INSTALLED_SNAPSHOT
            self.config_path = os.path.join(INSTALLED_DROPIN_DIR, FILE_PREFIX + "daemon.conf")
            self.ctl_path = elevatectl_bin()
            paths = ""
        else:
            self.socket = ws.file("elevated.sock")
            self.state_dir = ws.file("state")
            self.audit_path = ws.file("audit.jsonl")
            self.config_path = ws.file("elevate.conf")
            self.snapshot = ws.file("groups.snapshot")
            os.mkdir(self.state_dir, 0o700)
            os.chmod(self.state_dir, 0o700)
            # Test users run the CLI from a copy in the (0711) workspace, so the
            # build tree's permissions do not matter.
            self.ctl_path = ws.file("elevatectl")
            shutil.copyfile(elevatectl_bin(), self.ctl_path)
            os.chmod(self.ctl_path, 0o755)
            paths = ('socket = "%s"\nstate_dir = "%s"\naudit_file = "%s"\nsnapshot = "%s"\n'
                     % (self.socket, self.state_dir, self.audit_path, self.snapshot))
        ws.logs.append(("audit trail", self.audit_path))
        head = (
            "[daemon]\n"
            "%s"
            "audit_journal = false\n"
            'admin_group = "elve2e-admins"\n'
            "\n[totp]\n"
            "drift_steps = %d\n"
            "\n[lockout]\n"
            "max_failures = %d\n"
            'window = "15m"\n'
            'duration = "1m"\n\n'
        ) % (paths, DRIFT_STEPS, lockout_max_failures)
        if INSTALLED:
            ws.note("file", self.config_path)
            ws.add_cleanup(_remove_file, self.config_path)
        _write_atomic(self.config_path, head + extra + ("\n" if extra else "") + roles, 0o600)
        self.proc = None

    def start(self):
        if INSTALLED:
            # The daemon the package runs answers on the same socket: this
            # test's daemon takes its place (systemd's, when systemd runs,
            # comes back at cleanup).
            _stop_installed_service(self.ws)
            argv = [elevated_bin(), "--debug"]
        else:
            argv = [elevated_bin(), "--debug", "--config", self.config_path]
        logf = open(self.log_path, "ab")
        try:
            self.proc = subprocess.Popen(argv,
                                         stdin=subprocess.DEVNULL, stdout=logf, stderr=logf,
                                         env=dict(BASE_ENV), start_new_session=True)
        finally:
            logf.close()
        self.ws.track_pid(self.proc.pid, self.config_path)
        self.ws.add_cleanup(self.stop)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("elevated exited at start-up (%s):\n%s" % (self.proc.returncode, self.log()))
            if self.ctl(["ping"]).returncode == 0:
                return
            time.sleep(0.05)
        raise RuntimeError("elevated did not answer ping:\n" + self.log())

    def stop(self):
        if self.proc is None or self.proc.poll() is not None:
            return
        terminate(self.proc, 10)

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def log(self):
        try:
            with open(self.log_path, errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def ctl(self, args, user=None, input=None, json_out=False, timeout=30):
        socket = [] if INSTALLED else ["--socket", self.socket]
        argv = [self.ctl_path] + socket + (["--json"] if json_out else []) + list(args)
        return run(argv, input=input, user=user, timeout=timeout)

    def enroll(self, user):
        r = self.ctl(["enroll", user.name, "--no-qr"], json_out=True)
        if r.returncode != 0:
            raise RuntimeError("enroll %s failed (%d): %s%s" % (user.name, r.returncode, r.stdout, r.stderr))
        m = re.search(r"secret=([A-Z2-7]+)", r.stdout)
        if not m:
            raise RuntimeError("no secret in enroll output: " + r.stdout)
        user.totp = Totp(m.group(1))
        return user.totp

    def activate(self, user, role, reason=None, duration=None, code=None):
        """`elevatectl activate` as the user, the code on stdin."""
        args = ["activate", role]
        if duration:
            args += ["--for", duration]
        if reason:
            args += ["--reason", reason]
        code = code if code is not None else user.totp.fresh_code()
        return self.ctl(args, user=user, input=code + "\n")

    def grants(self, user):
        """The user's active grants, as the user sees them (`elevatectl status`)."""
        r = self.ctl(["status"], user=user, json_out=True)
        if r.returncode != 0:
            raise RuntimeError("status failed (%d): %s%s" % (r.returncode, r.stdout, r.stderr))
        return json.loads(r.stdout)["grants"]

    def drop_all(self, user):
        for g in self.grants(user):
            self.ctl(["drop", g["role"]], user=user)

    def audit(self):
        events = []
        try:
            with open(self.audit_path) as f:
                for line in f:
                    line = line.strip()
                    if line:
                        events.append(json.loads(line))
        except OSError:
            pass
        return events

    def audit_since(self, mark):
        return self.audit()[mark:]


def systemd_running():
    return os.path.isdir("/run/systemd/system")


def _stop_installed_service(ws):
    """Stops elevated.service while a test runs the installed daemon itself,
    and starts it again at cleanup if it was running."""
    if not systemd_running():
        return
    if run(["systemctl", "is-active", "--quiet", "elevated.service"]).returncode == 0:
        run(["systemctl", "stop", "elevated.service"], check=True)
        ws.add_cleanup(lambda: run(["systemctl", "start", "elevated.service"]))


def running_daemon(ws, roles, enroll=(), **options):
    """A started Daemon(ws, roles, **options) with `enroll`'s users enrolled
    (each user's Totp in user.totp)."""
    daemon = Daemon(ws, roles, **options)
    daemon.start()
    for u in enroll:
        daemon.enroll(u)
    return daemon


# --------------------------------------------------------------------------
# a push provider: the real HTTPS webhook server of tests/push

REPO_DIR = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PUSH_TEST_DIR = os.path.join(REPO_DIR, "tests", "push")


class WebhookServer:
    """tests/push/webhook_server.py on 127.0.0.1 with a test CA made by
    tests/push/make_test_ca.sh, run as a child of this process: ended on
    cleanup, recorded for preclean, and (--watch-stdin) gone by itself when
    this process dies, however it dies. The script (which answers the
    server gives) is re-read by the server on every request: set_script()
    changes it between attempts. config() is the daemon's TOML for it."""

    def __init__(self, ws, script=None, device="Pixel 8"):
        self.ws = ws
        self.pki = ws.file("pki")
        self.secret_path = ws.file("webhook.secret")
        self.script_path = ws.file("webhook-script.json")
        self.log_path = ws.file("webhook-requests.log")
        self.events_path = ws.file("webhook-events.jsonl")
        self.stderr_path = ws.file("webhook-server.stderr")
        self.device = device
        self.proc = None
        self.port = None
        ws.logs.append(("webhook server requests", self.log_path))
        ws.logs.append(("webhook server stderr", self.stderr_path))
        r = run(["sh", os.path.join(PUSH_TEST_DIR, "make_test_ca.sh"), self.pki])
        if r.returncode != 0:
            raise RuntimeError("make_test_ca.sh failed (%d): %s%s" % (r.returncode, r.stdout, r.stderr))
        self.ca_file = os.path.join(self.pki, "ca.pem")
        # At least 32 characters ([push.webhook] secret); never printed.
        self.secret = "%064x" % random.SystemRandom().getrandbits(256)
        _write_atomic(self.secret_path, self.secret + "\n", 0o600)
        self.set_script(script if script is not None else {"default": "approve"})
        for path in (self.log_path, self.events_path):
            _write_atomic(path, "", 0o600)
        self._start()

    def _start(self):
        argv = [sys.executable, os.path.join(PUSH_TEST_DIR, "webhook_server.py"),
                "--cert", os.path.join(self.pki, "server.pem"), "--key", os.path.join(self.pki, "server.key"),
                "--port", "0", "--secret-file", self.secret_path, "--script", self.script_path,
                "--events-file", self.events_path, "--log", self.log_path, "--watch-stdin"]
        errf = open(self.stderr_path, "ab")
        try:
            env = dict(BASE_ENV, PYTHONDONTWRITEBYTECODE="1")  # no __pycache__ in the source tree
            self.proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=errf,
                                         env=env, start_new_session=True)
        finally:
            errf.close()
        self.ws.track_pid(self.proc.pid, self.script_path)
        self.ws.add_cleanup(self.stop)
        ready, _, _ = select.select([self.proc.stdout], [], [], 15)
        line = self.proc.stdout.readline().decode(errors="replace") if ready else ""
        m = re.match(r"PORT (\d+)", line)
        if not m:
            raise RuntimeError("webhook_server.py did not say its port (got %r):\n%s" % (line, self.stderr()))
        self.port = int(m.group(1))

    def stop(self):
        if self.proc is None or self.proc.poll() is not None:
            return
        try:
            self.proc.stdin.close()  # --watch-stdin: the server exits on EOF
        except OSError:
            pass
        try:
            self.proc.wait(3)
        except subprocess.TimeoutExpired:
            terminate(self.proc)
        self.proc.stdout.close()

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def stderr(self):
        try:
            with open(self.stderr_path, errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    @property
    def url(self):
        return "https://127.0.0.1:%d/elevate" % self.port

    def set_script(self, script):
        """What the server answers from the next request on: {"default":
        "approve"|"deny"|"fraud"|"timeout"|..., "users": {NAME: ...},
        "delay": seconds}. The device label is added unless given."""
        script = dict(script)
        script.setdefault("device", self.device)
        _write_atomic(self.script_path, json.dumps(script), 0o644)

    def config(self, timeout="10s", notify=False):
        """[push] (+ [push.webhook], optionally [notify]) for Daemon(extra=...).
        The secret is in it: Daemon writes its config 0600, root's."""
        tls = 'ca_file = "%s"\nrequest_timeout = "3s"\n' % self.ca_file
        text = ('[push]\nprovider = "webhook"\ntimeout = "%s"\n\n'
                '[push.webhook]\nurl = "%s"\nsecret = "%s"\n%s') % (timeout, self.url, self.secret, tls)
        if notify:
            text += '\n[notify]\nurl = "%s/events"\nsecret = "%s"\n%s' % (self.url, self.secret, tls)
        return text

    def requests(self):
        """The request log so far, one "METHOD PATH USER" string a request."""
        try:
            with open(self.log_path, errors="replace") as f:
                return [line.rstrip("\n") for line in f if line.strip()]
        except OSError:
            return []

    def challenges(self, user=None):
        """The challenges (pushes) started so far, for `user` or anyone."""
        out = []
        for line in self.requests():
            parts = line.split()
            if len(parts) >= 3 and parts[0] == "POST" and parts[1].endswith("/challenges"):
                if user is None or parts[2] == (user if isinstance(user, str) else user.name):
                    out.append(line)
        return out

    def events(self):
        out = []
        try:
            with open(self.events_path) as f:
                for line in f:
                    if line.strip():
                        out.append(json.loads(line))
        except OSError:
            pass
        return out


# --------------------------------------------------------------------------
# the group database as programs see it: libnss_elevate through nsswitch.conf

def nss_module():
    return _find_binary("NSS_ELEVATE_SO", ["nss_module/libnss_elevate.so.2"])


def nsswitch_with_elevate():
    """The host's nsswitch.conf with `group: files elevate` (the snippet in
    conf/nsswitch.conf.snippet) in place of its group and initgroups lines."""
    lines, replaced = [], False
    with open("/etc/nsswitch.conf") as f:
        for line in f:
            key = re.split(r"[\s:]", line, 1)[0]
            if key in ("group", "initgroups"):
                if not replaced:
                    lines.append("group:          files elevate\n")
                replaced = True
                continue
            lines.append(line)
    if not replaced:
        lines.append("group:          files elevate\n")
    return "".join(lines)


def getent_group(daemon, group):
    """`getent group GROUP` with `elevate` in nsswitch.conf, reading the
    daemon's snapshot. The host's /etc/nsswitch.conf is never touched: getent
    runs in a mount namespace of its own where a copy that names elevate is
    bound over it (as tests/nss does); the module is the build's, found
    through LD_LIBRARY_PATH, the snapshot through ELEVATE_NSS_SNAPSHOT (getent
    is not set-uid, so the module honours it). Returns (exit status,
    members), members None when getent printed no entry."""
    if INSTALLED:
        # The package put elevate into the system's nsswitch.conf; the
        # module reads the default snapshot.
        r = run(["getent", "group", group])
    else:
        conf = daemon.ws.file("nsswitch.conf")
        if not os.path.exists(conf):
            _write_atomic(conf, nsswitch_with_elevate(), 0o644)
        script = 'mount --bind "$1" /etc/nsswitch.conf && exec getent group "$2"'
        r = run(["unshare", "--mount", "--propagation", "private", "--", "sh", "-c", script, "sh", conf, group],
                env={"LD_LIBRARY_PATH": os.path.dirname(nss_module()), "ELEVATE_NSS_SNAPSHOT": daemon.snapshot})
    if r.returncode not in (0, 2):  # 2: no such group
        raise RuntimeError("getent group %s in a private mount namespace failed (%d): %s%s"
                           % (group, r.returncode, r.stdout, r.stderr))
    line = r.stdout.strip()
    if not line:
        return r.returncode, None
    fields = line.split(":")
    if len(fields) != 4 or fields[0] != group:
        raise RuntimeError("getent group %s printed %r" % (group, line))
    return r.returncode, [m for m in fields[3].split(",") if m]


# --------------------------------------------------------------------------
# the person at the keyboard

class Conversation:
    """What happened when a program was driven through a pty."""

    def __init__(self):
        self.prompts = []        # "reason" / "code", in order
        self.prompt_texts = []   # the prompts as shown, in order
        self.codes = []          # what was typed at the code prompts
        self.echo_off = []       # was echo off when each code was typed
        self.output = ""
        self.exit_status = None
        self.signal_status = None
        self.seconds = 0.0

    def saw(self, pattern):
        return re.search(pattern, self.output, re.IGNORECASE) is not None

    def __str__(self):
        return "exit=%s signal=%s prompts=%s after %.1fs, output:\n%s" % (
            self.exit_status, self.signal_status, self.prompts, self.seconds, self.output)


def converse(argv, code=None, reason="INC-4711 e2e test", env=None, timeout=30, max_prompts=4,
             after_login=None, logfile=None, code_prompt=CODE_PROMPT):
    """Spawns argv on a pty and answers its prompts like a person would:
    the reason at "Reason for ROLE: ", and at "Verification code: " the value
    of code() called AT THAT MOMENT (code may be a callable, a string, or
    None for pressing Enter). Waits for EOF and returns a Conversation.

    after_login: optional (pattern, callback(child, conversation)) run when
    the pattern shows up (e.g. to time how long a session lasts).

    code_prompt: the pattern of the code prompt (CODE_PROMPT; ANY_CODE_PROMPT
    also answers "Verification code (or press Enter for push): ")."""
    conv = Conversation()
    e = dict(BASE_ENV)
    if env:
        e.update(env)
    started = time.monotonic()
    child = pexpect.spawn(argv[0], list(argv[1:]), env=e, encoding="utf-8", codec_errors="replace",
                          timeout=timeout, dimensions=(24, 200))
    if logfile is not None:
        child.logfile_read = logfile
    out = []
    patterns = [REASON_PROMPT, code_prompt, pexpect.EOF, pexpect.TIMEOUT]
    after_pattern = None
    if after_login:
        patterns.append(after_login[0])
        after_pattern = len(patterns) - 1
    try:
        while True:
            i = child.expect(patterns)
            out.append(child.before if isinstance(child.before, str) else "")
            if i in (0, 1):
                out.append(child.after)
                conv.prompt_texts.append(child.after)
                if len(conv.prompts) >= max_prompts:
                    raise AssertionError("more than %d prompts:\n%s" % (max_prompts, "".join(out)))
                if i == 0:
                    conv.prompts.append("reason")
                    child.sendline(reason)
                else:
                    conv.prompts.append("code")
                    # The prompt must not echo; wait for the program to turn
                    # echo off before typing (a code must never be shown).
                    conv.echo_off.append(child.waitnoecho(timeout=3))
                    value = code() if callable(code) else code
                    value = "" if value is None else value
                    conv.codes.append(value)
                    child.sendline(value)
            elif i == 2:
                break
            elif i == 3:
                out.append("\n[e2e: TIMEOUT after %ss]\n" % timeout)
                conv.output = "".join(out)
                raise AssertionError("timed out waiting for %s\n%s" % (argv, conv.output))
            elif i == after_pattern:
                out.append(child.after)
                after_login[1](child, conv)
    finally:
        conv.output = "".join(out).replace("\r\n", "\n")
        conv.seconds = time.monotonic() - started
        if child.isalive():
            child.close(force=True)
        else:
            child.close()
        conv.exit_status = child.exitstatus
        conv.signal_status = child.signalstatus
        if os.environ.get("ELEVATE_E2E_VERBOSE"):
            log("%s\n%s" % (" ".join(argv), conv))
    return conv


# --------------------------------------------------------------------------
# unittest glue

def _dump_logs():
    for w in _live_workspaces:
        for title, path in w.logs:
            try:
                with open(path, errors="replace") as f:
                    text = f.read()
            except OSError:
                continue
            sys.stderr.write("---- %s (%s), last 60 lines ----\n" % (title, path))
            sys.stderr.write("\n".join(text.splitlines()[-60:]) + "\n")
    sys.stderr.flush()


class _Result(unittest.TextTestResult):
    """Shows the daemon's (and sshd's) logs at the moment a test fails,
    while the workspace still exists."""

    def addFailure(self, test, err):
        super().addFailure(test, err)
        _dump_logs()

    def addError(self, test, err):
        super().addError(test, err)
        _dump_logs()


def main():
    """unittest.main that exits non-zero on failure and always cleans up."""
    require_root()
    acquire_lock()
    preclean()
    try:
        runner = unittest.TextTestRunner(resultclass=_Result, verbosity=2)
        prog = unittest.main(exit=False, testRunner=runner)
        ok = prog.result.wasSuccessful() and prog.result.testsRun > 0
    finally:
        _cleanup_all()
    sys.exit(0 if ok else 1)
