#!/usr/bin/env python3
"""The Debian packages, installed on this machine the way a sysadmin does it
(`apt-get install ./elevate_*.deb ...`), used, upgraded and purged.

In order, in one run:

  1. install: nsswitch.conf gains `elevate` on its group line and nothing
     else changes in it; the PAM profile is present and not enabled (no
     common-* file changes); state and log directories, the admin group,
     files where libpam and glibc load them; the installed config, unit and
     profile pass their own checkers.
  2. tests/e2e's sudo and sshd tests, against the installed files at their
     default paths (ELEVATE_E2E_INSTALLED=1).
  3. the job itself, then an upgrade: sudo asks for a code, grants the
     role, `getent group` lists the user through the system's nsswitch.conf,
     the next sudo asks nothing; the enabled pam-auth-update profile leaves a
     login without a grant alone; the packages are upgraded to a rebuilt
     newer version, and the grant, the TOTP factor and the nsswitch entry
     are still there.
  4. purge: nothing is left behind (files, nsswitch entry, PAM profile,
     state, logs, the group the package created).

Needs ELEVATE_DEB_DIR (the packages, scripts/build-deb.sh) and
ELEVATE_DEB_UPGRADE_DIR (the same rebuilt with a newer version). Run as
root; refuses to run where an elevate package is installed already.
"""

import atexit
import glob
import grp
import os
import re
import stat
import subprocess
import sys
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "e2e"))
os.environ["ELEVATE_E2E_INSTALLED"] = "1"  # before the e2e modules are imported
import elevate_e2e as e2e  # noqa: E402
import test_sshd  # noqa: E402
import test_sudo  # noqa: E402

PACKAGES = ["elevate", "libpam-elevate", "libnss-elevate"]
ARCH = subprocess.run(["dpkg-architecture", "-qDEB_HOST_MULTIARCH"], capture_output=True, text=True).stdout.strip()
PAM_COMMON = ["common-auth", "common-account", "common-password", "common-session",
              "common-session-noninteractive"]
WATCHED = ["/etc/nsswitch.conf"] + [os.path.join("/etc/pam.d", f) for f in PAM_COMMON]
ENV = {"DEBIAN_FRONTEND": "noninteractive"}

# What the machine looked like before the packages came (for the purge).
BEFORE = {}
FILE_LISTS = {}


def debs(dir_env):
    d = os.environ.get(dir_env)
    if not d:
        raise RuntimeError("%s is not set (scripts/build-deb.sh builds the packages)" % dir_env)
    found = [glob.glob(os.path.join(d, "%s_*.deb" % p)) for p in PACKAGES]
    if any(len(f) != 1 for f in found):
        raise RuntimeError("%s does not hold exactly one .deb of each of %s: %s" % (d, PACKAGES, found))
    return [f[0] for f in found]


def installed_version(package):
    r = e2e.run(["dpkg-query", "-W", "-f", "${db:Status-Status} ${Version}", package])
    if r.returncode != 0:
        return None
    status, _, version = r.stdout.partition(" ")
    return version if status == "installed" else None


def apt(*args):
    r = e2e.run(["apt-get", "-y", "-q"] + list(args), env=ENV, timeout=300)
    if r.returncode != 0:
        raise RuntimeError("apt-get %s failed (%d):\n%s%s" % (" ".join(args), r.returncode, r.stdout, r.stderr))
    return r


def read(path):
    try:
        with open(path) as f:
            return f.read()
    except FileNotFoundError:
        return None


def nss_line(db):
    for line in (read("/etc/nsswitch.conf") or "").splitlines():
        if re.match(r"%s\s*:" % db, line):
            return line.split(":", 1)[1].split()
    return None


def purge_everything():
    """Class cleanup: whatever happened, the machine ends without the
    packages (purged) and without a daemon of theirs."""
    present = [p for p in PACKAGES if e2e.run(["dpkg-query", "-W", p]).returncode == 0]
    if present:
        e2e.run(["apt-get", "-y", "-q", "purge"] + present, env=ENV, timeout=300)
    e2e.kill_pids([p for p in e2e.all_pids() if e2e.exe_of(p).startswith("/usr/sbin/elevated")])


def pam_profile_fields(path):
    """A pam-auth-update profile as pam-auth-update reads it: `Field: value`
    lines, and indented continuation lines belonging to the field above."""
    fields, key = {}, None
    for line in read(path).splitlines():
        if line[:1] in (" ", "\t") and key:
            fields[key].append(line.strip())
        elif ":" in line:
            key, value = line.split(":", 1)
            fields[key] = [value.strip()] if value.strip() else []
    return fields


class DebInstall(unittest.TestCase):
    """1. Installing changes nothing about logins and wires NSS."""

    @classmethod
    def setUpClass(cls):
        for p in PACKAGES:
            if installed_version(p):
                raise RuntimeError("%s is installed on this machine already; this test installs and purges "
                                   "its own packages and will not touch an admin's" % p)
        for path in WATCHED:
            BEFORE[path] = read(path)
        apt("install", *["./" + os.path.relpath(d) for d in debs("ELEVATE_DEB_DIR")])
        for p in PACKAGES:
            FILE_LISTS[p] = e2e.run(["dpkg", "-L", p], check=True).stdout.split("\n")

    def test_1_nsswitch_gains_elevate_on_the_group_line_only(self):
        self.assertEqual(nss_line("group")[-1], "elevate", read("/etc/nsswitch.conf"))
        self.assertEqual(nss_line("group").count("elevate"), 1)
        before = [l for l in BEFORE["/etc/nsswitch.conf"].splitlines() if not re.match(r"group\s*:", l)]
        after = [l for l in read("/etc/nsswitch.conf").splitlines() if not re.match(r"group\s*:", l)]
        self.assertEqual(before, after)

    def test_2_the_pam_profile_is_there_and_not_enabled(self):
        for f in PAM_COMMON:
            path = os.path.join("/etc/pam.d", f)
            self.assertEqual(read(path), BEFORE[path], "installing changed %s" % path)
        fields = pam_profile_fields("/usr/share/pam-configs/elevate")
        self.assertEqual(fields["Default"], ["no"])
        self.assertTrue(fields["Name"][0])
        self.assertEqual(fields["Session-Type"], ["Additional"])
        # Only the session line, safe for every service: never auth or
        # account, whose role-specific lines would lock every service out.
        self.assertFalse([k for k in fields if k.split("-")[0] in ("Auth", "Account", "Password")], fields)
        self.assertEqual(fields["Session"], ["optional\tpam_elevate.so"])
        self.assertTrue(os.path.exists("/lib/%s/security/pam_elevate.so" % ARCH))

    def test_3_directories_group_and_module_locations(self):
        st = os.stat("/var/lib/elevate")
        self.assertEqual((stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid), (0o700, 0, 0))
        st = os.stat("/var/log/elevate")
        self.assertEqual((stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid), (0o750, 0, grp.getgrnam("adm").gr_gid))
        self.assertLess(grp.getgrnam("elevate-admins").gr_gid, 1000)  # a system group
        self.assertEqual(grp.getgrnam("elevate-admins").gr_mem, [])
        self.assertTrue(os.path.exists("/lib/%s/libnss_elevate.so.2" % ARCH))
        for page in ("elevated", "elevatectl", "pam_elevate"):
            self.assertEqual(e2e.run(["man", "-w", page]).returncode, 0, page)

    def test_4_installed_files_pass_their_own_checkers(self):
        r = e2e.run(["/usr/sbin/elevated", "--check-config"])
        self.assertEqual(r.returncode, 0, r)
        r = e2e.run(["systemd-analyze", "verify", "/lib/systemd/system/elevated.service"])
        self.assertEqual(r.returncode, 0, r)
        self.assertEqual(r.stderr.strip(), "", r)
        # logrotate's own parser, in debug mode (it rotates nothing).
        r = e2e.run(["logrotate", "-d", "-s", "/dev/null", "/etc/logrotate.d/elevate"])
        self.assertEqual(r.returncode, 0, r)
        self.assertIn("/var/log/elevate/audit.jsonl", r.stdout + r.stderr)
        self.assertNotRegex(r.stdout + r.stderr, r"(?i)error")

    def test_5_the_daemon_is_started_by_debhelpers_systemd_helpers(self):
        postinst = read("/var/lib/dpkg/info/elevate.postinst")
        self.assertIn("deb-systemd-helper", postinst)
        self.assertRegex(postinst, r"deb-systemd-invoke \$_dh_action .*'?elevated\.service")
        self.assertRegex(postinst, r"_dh_action=restart")
        for script in glob.glob("/var/lib/dpkg/info/*elevate*.p*"):
            body = read(script)
            # Our own parts call no systemctl; debhelper's use deb-systemd-*.
            self.assertNotRegex(re.sub(r"# Automatically added by dh_installsystemd.*?# End automatically added section",
                                       "", body, flags=re.S), r"\bsystemctl\b", script)
        if e2e.systemd_running():
            r = e2e.run(["systemctl", "is-active", "elevated.service"])
            self.assertEqual(r.stdout.strip(), "active", r)


ROLES = """
[[role]]
name = "pkg-admin"
gid = 61991
eligible_users = ["elve2e-pkg"]
default_duration = "30m"
max_duration = "1h"

[[role]]
name = "pkg-short"
gid = 61992
eligible_users = ["elve2e-pkg"]
default_duration = "4s"
max_duration = "1m"
"""
SERVICE = "elevate-e2e-pkg"


class DebJobAndUpgrade(e2e.SudoAssertions, unittest.TestCase):
    """3. The job the product exists for, with the installed files, and an
    upgrade that keeps the grant and the factor."""

    @classmethod
    def setUpClass(cls):
        cls.ws = e2e.Workspace.for_test_class(cls, "pkg")
        cls.user = cls.ws.user("pkg")
        cls.daemon = e2e.running_daemon(cls.ws, ROLES, enroll=[cls.user])
        cls.ws.pam_service(SERVICE, e2e.sudo_pam_stack(e2e.pam_module(), None, "pkg-admin", "tests/package",
                                                       session=True))
        cls.ws.pam_service(SERVICE + "-short", e2e.sudo_pam_stack(e2e.pam_module(), None, "pkg-short",
                                                                  "tests/package"))
        cls.ws.sudoers(SERVICE, "# elevate package test (tests/package); removed after the test.\n"
                       + e2e.sudoers_for(cls.user.name, SERVICE))

    def sudo(self, code):
        argv = e2e.as_user(self.user, ["sudo", "-k", "id", "-un"])
        return e2e.converse(argv, code=code, env={"HOME": self.user.home, "USER": self.user.name})

    def test_1_sudo_asks_for_a_code_and_the_role_group_lists_the_user(self):
        c = self.sudo(self.user.totp.fresh_code)
        self.assertEqual(c.prompts, ["code"], c)
        self.assert_ran_as_root(c)
        self.assertEqual(e2e.getent_group(self.daemon, "pkg-admin"), (0, [self.user.name]))
        c = self.sudo(lambda: self.fail("sudo asked for a code under an active grant"))
        self.assertEqual(c.prompts, [], c)
        self.assert_ran_as_root(c)

    def test_2_the_enabled_profile_leaves_a_login_without_a_grant_alone(self):
        other = self.ws.user("pkg-plain")
        session = "/etc/pam.d/common-session"
        before = read(session)
        self.ws.add_cleanup(lambda: e2e.run(["pam-auth-update", "--package", "--disable", "elevate"]))
        e2e.run(["pam-auth-update", "--package", "--enable", "elevate"], check=True)
        self.assertRegex(read(session), r"(?m)^session\s+optional\s+pam_elevate\.so\s*$")
        mark = len(self.daemon.audit())
        r = e2e.run(["su", "-l", other.name, "-c", "echo in"])
        self.assertEqual((r.returncode, r.stdout.strip()), (0, "in"), r)
        # su sets PAM_RUSER to the invoking user (root), so the session is
        # filed under root (pam_elevate(8), session): it is recorded and
        # runs under no grant.
        opened = [e for e in self.daemon.audit_since(mark)
                  if e.get("event") == "session-open" and e.get("source", "").startswith("su-l")]
        self.assertEqual([(e["result"], e["grant_id"]) for e in opened], [("ok", "")], opened)
        # With the daemon away, the optional line does not stop a login.
        self.daemon.stop()
        try:
            r = e2e.run(["su", "-l", other.name, "-c", "echo in"])
            self.assertEqual((r.returncode, r.stdout.strip()), (0, "in"), r)
        finally:
            self.daemon.start()
        e2e.run(["pam-auth-update", "--package", "--disable", "elevate"], check=True)
        self.assertEqual(read(session), before)

    def test_3_an_upgrade_keeps_the_grant_and_the_factor(self):
        grants = self.daemon.grants(self.user)
        self.assertEqual([g["role"] for g in grants], ["pkg-admin"], grants)
        old_version = installed_version("elevate")
        old_pid = self.daemon.proc.pid
        apt("install", *["./" + os.path.relpath(d) for d in debs("ELEVATE_DEB_UPGRADE_DIR")])
        new_version = installed_version("elevate")
        self.assertNotEqual(new_version, old_version)
        self.assertEqual(e2e.run(["dpkg", "--compare-versions", new_version, "gt", old_version]).returncode, 0)
        self.assertEqual(nss_line("group").count("elevate"), 1, read("/etc/nsswitch.conf"))
        if e2e.systemd_running():
            # The test's daemon stood in for the service; the package's
            # postinst restarted the service on the new files.
            r = e2e.run(["systemctl", "show", "-p", "MainPID", "--value", "elevated.service"])
            pid = int(r.stdout.strip() or 0)
            self.assertGreater(pid, 0, r)
            self.assertEqual(e2e.exe_of(pid), "/usr/sbin/elevated")
        # Without systemd nothing restarts a daemon: the one running still
        # maps the replaced binary, and is restarted here the way an admin
        # would (on systemd, deb-systemd-invoke restart does it: test 1.5).
        self.assertEqual(e2e.exe_of(old_pid), "/usr/sbin/elevated (deleted)")
        self.daemon.stop()
        self.daemon.start()
        self.assertEqual(e2e.exe_of(self.daemon.proc.pid), "/usr/sbin/elevated")
        after = self.daemon.grants(self.user)
        self.assertEqual([(g["id"], g["role"], g["end"]) for g in after],
                         [(g["id"], g["role"], g["end"]) for g in grants])
        c = self.sudo(lambda: self.fail("sudo asked for a code under a grant the upgrade kept"))
        self.assert_ran_as_root(c)
        self.assertEqual(e2e.getent_group(self.daemon, "pkg-admin"), (0, [self.user.name]))
        # The enrolled secret survived: a code from it activates another role.
        r = self.daemon.activate(self.user, "pkg-short")
        self.assertEqual(r.returncode, 0, r)
        end = [g for g in self.daemon.grants(self.user) if g["role"] == "pkg-short"][0]["end"]
        while time.time() < end + 1.5:
            time.sleep(0.2)
        self.assertEqual([g["role"] for g in self.daemon.grants(self.user)], ["pkg-admin"])


class DebPurge(unittest.TestCase):
    """4. A purge leaves nothing behind."""

    def test_purge_leaves_nothing_behind(self):
        self.assertFalse([p for p in e2e.all_pids() if e2e.exe_of(p).startswith("/usr/sbin/elevated")])
        apt("purge", *PACKAGES)
        for p in PACKAGES:
            r = e2e.run(["dpkg-query", "-W", "-f", "${db:Status-Status}", p])
            self.assertIn(r.stdout.strip(), ("", "not-installed"), r)
        left = []
        for p, files in FILE_LISTS.items():
            for f in files:
                if f and os.path.lexists(f) and not os.path.isdir(f):
                    left.append(f)
        self.assertEqual(left, [])
        for path in ("/etc/elevate", "/var/lib/elevate", "/var/log/elevate", "/run/elevate",
                     "/usr/share/pam-configs/elevate", "/usr/share/doc/elevate",
                     "/usr/share/doc/libpam-elevate", "/usr/share/doc/libnss-elevate"):
            self.assertFalse(os.path.lexists(path), path)
        for path in WATCHED:
            self.assertEqual(read(path), BEFORE[path], "%s differs from before the install" % path)
        self.assertRaises(KeyError, grp.getgrnam, "elevate-admins")


def load_tests(loader, standard_tests, pattern):
    """The steps in their order; the e2e classes run between install and
    upgrade, against the installed files."""
    suite = unittest.TestSuite()
    for cls in (DebInstall, test_sudo.SudoE2E, test_sshd.SshdE2E, DebJobAndUpgrade, DebPurge):
        suite.addTests(loader.loadTestsFromTestCase(cls))
    return suite


if __name__ == "__main__":
    # After e2e.main's own cleanup (atexit runs last), also when a step
    # failed or a signal ended the run.
    atexit.register(purge_everything)
    e2e.main()
