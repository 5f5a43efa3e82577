#!/usr/bin/env python3
"""The RPMs built from packaging/rpm/elevate.spec, read the way rpm reads
them, against the Debian packages built from the same tree.

  - rpmlint (--strict, the spec's rpmlintrc) has nothing to say;
  - each RPM holds the files of its Debian counterpart (elevate, elevate-pam
    <-> libpam-elevate, elevate-nss <-> libnss-elevate) at the RPM
    distribution's paths, with the same modes, and nothing else but what
    the two kinds of distribution do differently (named below, each with its
    reason);
  - the config, the unit and the examples are the same bytes; the config is
    a config file in both;
  - the scriptlets are the systemd ones: preset on install, stop on erase,
    restart on upgrade; the directories the Debian postinst creates are owned
    by the RPM with the same modes;
  - the NSS module needs nothing but libc, the PAM module nothing but libc
    and libpam, in both.

Needs ELEVATE_RPM_DIR (scripts/build-rpm.sh) and ELEVATE_DEB_DIR
(scripts/build-deb.sh). Installs nothing; runs as any user.
"""

import glob
import io
import os
import re
import stat
import subprocess
import tarfile
import tempfile
import unittest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ARCH = subprocess.run(["dpkg-architecture", "-qDEB_HOST_MULTIARCH"], capture_output=True, text=True,
                      check=True).stdout.strip()
# The debuginfo and debugsource RPMs have no .deb counterpart compared here
# (Debian's -dbgsym packages are skipped the same way).
DEBUG_PACKAGE = re.compile(r"-(debuginfo|debugsource|dbgsym)$")
PAIRS = {"elevate": "elevate", "elevate-pam": "libpam-elevate", "elevate-nss": "libnss-elevate"}

# Debian's paths -> the RPM distribution's, longest prefix first.
PATH_MAP = [
    (f"/lib/{ARCH}/security/", "/usr/lib64/security/"),
    (f"/lib/{ARCH}/", "/usr/lib64/"),
    ("/lib/systemd/system/", "/usr/lib/systemd/system/"),
    ("/usr/share/doc/libpam-elevate/", "/usr/share/doc/elevate-pam/"),
    ("/usr/share/doc/libnss-elevate/", "/usr/share/doc/elevate-nss/"),
]

# What only one kind of distribution ships, and why.
DEB_ONLY = {
    # Debian wires PAM with pam-auth-update; RPM distributions with
    # authselect, which a package must not drive (the authselect recipe
    # is in both).
    "/usr/share/pam-configs/elevate",
}
DEB_ONLY_PATTERNS = [
    # Debian's per-package changelog and copyright (RPM: %changelog in the
    # header, the licence under /usr/share/licenses).
    re.compile(r"^/usr/share/doc/[^/]+/(changelog(\.Debian)?\.gz|copyright)$"),
]
RPM_ONLY_PATTERNS = [
    re.compile(r"^/usr/share/licenses/elevate/LICENSE$"),
    # rpm's build-id links for the debuginfo packages.
    re.compile(r"^/usr/lib/\.build-id(/|$)"),
]
# Entries that differ on purpose, (in the .deb, in the RPM). Shared objects:
# 0644 by Debian policy, 0755 on RPM distributions (rpm strips and extracts
# debug information from executable files only). A ".so" man page:
# dh_installman makes it a symlink, rpm keeps the one-line page.
DIFFERENT = {
    "/usr/lib64/security/pam_elevate.so": (("file", 0o644), ("file", 0o755)),
    "/usr/lib64/libnss_elevate.so.2": (("file", 0o644), ("file", 0o755)),
    "/usr/share/man/man8/libnss_elevate.8.gz": (("link", 0o777), ("file", 0o644)),
}
# Created by the Debian postinst (with its modes), owned by the RPM.
POSTINST_DIRS = {"/var/lib/elevate", "/var/log/elevate"}


def read(path, mode="r"):
    with open(path, mode) as f:
        return f.read()


def run(cmd, **kw):
    return subprocess.run(cmd, capture_output=True, check=True, **kw)


def packages(env, pattern):
    d = os.environ.get(env)
    if not d:
        raise AssertionError(f"{env} is not set")
    found = sorted(glob.glob(os.path.join(d, pattern)))
    if not found:
        raise AssertionError(f"no {pattern} in {d}")
    return found


def rpm_query(path, fmt):
    return run(["rpm", "-qp", "--nosignature", "--qf", fmt, path]).stdout.decode()


def rpm_entries(path):
    """{path: (kind, mode)} of one RPM, from its header."""
    out = rpm_query(path, "[%{FILENAMES}\t%{FILEMODES}\n]")
    entries = {}
    for line in out.splitlines():
        name, mode = line.split("\t")
        mode = int(mode) & 0o177777
        entries[name] = ("dir" if stat.S_ISDIR(mode) else "link" if stat.S_ISLNK(mode) else "file",
                         stat.S_IMODE(mode))
    return entries


def rpm_payload(path):
    """{path: bytes} of the regular files in one RPM (rpm2archive's tar)."""
    data = run(["rpm2archive", "-"], input=read(path, "rb")).stdout
    files = {}
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        for m in tar.getmembers():
            if m.isfile():
                files["/" + m.name.lstrip("./")] = tar.extractfile(m).read()
    return files


def deb_members(path):
    data = run(["dpkg-deb", "--fsys-tarfile", path]).stdout
    members = {}
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        for m in tar.getmembers():
            name = "/" + m.name.lstrip("./")
            if name == "/":
                continue
            kind = "dir" if m.isdir() else "link" if m.issym() else "file"
            members[name] = (kind, m.mode, tar.extractfile(m).read() if m.isfile() else None)
    return members


def deb_name(path):
    return run(["dpkg-deb", "-f", path, "Package"]).stdout.decode().strip()


def to_rpm_path(deb_path):
    for old, new in PATH_MAP:
        if deb_path.startswith(old):
            return new + deb_path[len(old):]
    return deb_path


def postinst_dirs():
    """{dir: mode} from the Debian postinst's `install -d -m MODE ... DIR`."""
    text = read(os.path.join(ROOT, "packaging/debian/elevate.postinst"))
    return {m.group(2): int(m.group(1), 8)
            for m in re.finditer(r"install -d -m (\d+) .*? (/\S+)$", text, re.M)}


class RpmPackages(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.rpms = {n: p for n, p in ((rpm_query(p, "%{NAME}"), p) for p in packages("ELEVATE_RPM_DIR", "*.rpm"))
                    if not DEBUG_PACKAGE.search(n)}
        cls.debs = {n: p for n, p in ((deb_name(p), p) for p in packages("ELEVATE_DEB_DIR", "*.deb"))
                    if not DEBUG_PACKAGE.search(n)}

    def test_1_rpmlint_is_clean(self):
        r = subprocess.run(["rpmlint", "--strict", "-c", os.path.join(ROOT, "packaging/rpm/rpmlint.toml"),
                            "-r", os.path.join(ROOT, "packaging/rpm/elevate.rpmlintrc")]
                           + list(self.rpms.values()), capture_output=True, text=True)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertRegex(r.stdout, r"0 errors, 0 warnings")

    def test_2_the_same_packages_and_version_as_the_debs(self):
        self.assertEqual(sorted(self.rpms), sorted(PAIRS))
        self.assertEqual(sorted(self.debs), sorted(PAIRS.values()))
        cmake = read(os.path.join(ROOT, "CMakeLists.txt"))
        version = re.search(r"project\(elevate VERSION (\S+)", cmake).group(1)
        for name, path in self.rpms.items():
            self.assertEqual(rpm_query(path, "%{VERSION}"), version, name)
        for name, path in self.debs.items():
            self.assertEqual(run(["dpkg-deb", "-f", path, "Version"]).stdout.decode().strip().split("+")[0],
                             version, name)

    def test_3_each_rpm_holds_its_debs_files_at_the_rpm_paths(self):
        for rpm_name, deb in PAIRS.items():
            with self.subTest(package=rpm_name):
                rpm_files = {p: e for p, e in rpm_entries(self.rpms[rpm_name]).items()
                             if e[0] != "dir" and not any(r.search(p) for r in RPM_ONLY_PATTERNS)}
                deb_files = {}
                for p, (kind, mode, _) in deb_members(self.debs[deb]).items():
                    if kind == "dir" or p in DEB_ONLY or any(r.search(p) for r in DEB_ONLY_PATTERNS):
                        continue
                    deb_files[to_rpm_path(p)] = (kind, mode)
                self.assertEqual(sorted(set(deb_files) - set(rpm_files)), [], "in the .deb only")
                self.assertEqual(sorted(set(rpm_files) - set(deb_files)), [], "in the RPM only")
                for p, entry in deb_files.items():
                    deb_entry, rpm_entry = DIFFERENT.get(p, (entry, entry))
                    self.assertEqual(entry, deb_entry, p)
                    self.assertEqual(rpm_files[p], rpm_entry, p)

    def test_4_config_unit_and_examples_are_the_same_bytes(self):
        compared = 0
        for rpm_name, deb in PAIRS.items():
            payload = rpm_payload(self.rpms[rpm_name])
            for p, (kind, _, data) in deb_members(self.debs[deb]).items():
                q = to_rpm_path(p)
                if kind == "file" and re.match(r"^/(etc|usr/lib/systemd|usr/share/(doc|bash-completion))/", q) \
                        and q in payload:
                    self.assertEqual(payload[q], data, q)
                    compared += 1
        self.assertGreaterEqual(compared, 8)  # config, unit, completion, examples
        flags = rpm_query(self.rpms["elevate"], "[%{FILENAMES} %{FILEFLAGS:fflags}\n]")
        rpm_config = set(re.findall(r"(?m)^(/\S+) \S*c", flags))
        conffiles = set(run(["dpkg-deb", "-I", self.debs["elevate"], "conffiles"]).stdout.decode().split())
        self.assertEqual(rpm_config, conffiles)
        self.assertEqual(conffiles, {"/etc/elevate/elevate.conf", "/etc/logrotate.d/elevate"})

    def test_5_scriptlets_preset_stop_and_restart_the_unit(self):
        spec = read(os.path.join(ROOT, "packaging/rpm/elevate.spec"))
        for macro in ("systemd_post", "systemd_preun", "systemd_postun_with_restart"):
            self.assertRegex(spec, rf"(?m)^%{macro} elevated\.service$")
        scripts = rpm_query(self.rpms["elevate"], "%{POSTIN}\n--preun--\n%{PREUN}\n--postun--\n%{POSTUN}\n")
        post, preun, postun = re.split(r"\n--(?:preun|postun)--\n", scripts)
        self.assertRegex(post, r"\$1 -eq 1 .*\n.*preset elevated\.service")
        self.assertRegex(preun, r"\$1 -eq 0 .*\n.*(disable --now|stop) elevated\.service")
        self.assertRegex(postun, r"\$1 -ge 1 .*\n.*try-restart elevated\.service")
        pre = rpm_query(self.rpms["elevate"], "%{PREIN}")
        self.assertIn("groupadd -r elevate-admins", pre)

    def test_6_state_and_log_directories_as_the_debian_postinst_makes_them(self):
        wanted = postinst_dirs()
        self.assertEqual(set(wanted), POSTINST_DIRS)
        entries = rpm_entries(self.rpms["elevate"])
        for d, mode in wanted.items():
            self.assertEqual(entries.get(d), ("dir", mode), d)

    def test_7_modules_need_only_libc_and_libpam(self):
        def needed(data):
            with tempfile.NamedTemporaryFile() as f:
                f.write(data)
                f.flush()
                out = run(["readelf", "-d", f.name]).stdout.decode()
            return sorted(re.findall(r"\(NEEDED\)\s+Shared library: \[(.+)\]", out))

        for rpm_name, path, allowed in (("elevate-nss", "/usr/lib64/libnss_elevate.so.2", {"libc.so.6"}),
                                        ("elevate-pam", "/usr/lib64/security/pam_elevate.so",
                                         {"libc.so.6", "libpam.so.0"})):
            with self.subTest(package=rpm_name):
                libs = needed(rpm_payload(self.rpms[rpm_name])[path])
                self.assertTrue(set(libs) <= allowed, libs)
                self.assertIn("libc.so.6", libs)
                requires = rpm_query(self.rpms[rpm_name], "[%{REQUIRES}\n]").split()
                for lib in (r for r in requires if ".so" in r):
                    self.assertTrue(any(lib.startswith(a) for a in allowed), lib)


if __name__ == "__main__":
    unittest.main(verbosity=2)
