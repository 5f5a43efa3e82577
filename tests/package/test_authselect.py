#!/usr/bin/env python3
"""packaging/authselect/create-profile.sh, the recipe that adds elevate to the
group database on RPM distributions, on this machine where authselect is not
packaged: its nsswitch.conf edit (--edit) against templates in the formats
authselect's profiles use (plain lists, {if ...} conditionals, a trailing
{include if ...} / {exclude if ...} marker, group merging), its refusal
without authselect, and its arguments. authselect itself is not run here.
"""

import os
import subprocess
import tempfile
import unittest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SCRIPT = os.path.join(ROOT, "packaging/authselect/create-profile.sh")

# Templates written for this test in the shapes of authselect's profiles.
TEMPLATE = """\
passwd:     files {if "with-altfiles":altfiles }sss systemd
shadow:     files systemd
group:      files {if "with-altfiles":altfiles }sss systemd {exclude if "with-group-merging"}
group:      files [SUCCESS=merge] sss [SUCCESS=merge] systemd [SUCCESS=merge] {include if "with-group-merging"}
hosts:      files dns myhostname
gshadow:    files systemd
"""
EXPECTED = """\
passwd:     files {if "with-altfiles":altfiles }sss systemd
shadow:     files systemd
group:      files {if "with-altfiles":altfiles }sss systemd elevate {exclude if "with-group-merging"}
group:      files [SUCCESS=merge] sss [SUCCESS=merge] systemd [SUCCESS=merge] elevate {include if "with-group-merging"}
hosts:      files dns myhostname
gshadow:    files systemd
"""
OLD_TEMPLATE = "passwd:    sss files\ngroup:     sss files\nnetgroup:  files sss\n"
OLD_EXPECTED = "passwd:    sss files\ngroup:     sss files elevate\nnetgroup:  files sss\n"


def read(path):
    with open(path) as f:
        return f.read()


def script(*args, env=None):
    return subprocess.run(["/bin/sh", SCRIPT, *args], capture_output=True, text=True, env=env)


class CreateProfile(unittest.TestCase):
    def edit(self, text):
        with tempfile.NamedTemporaryFile("w+", suffix=".conf") as f:
            f.write(text)
            f.flush()
            r = script("--edit", f.name)
            self.assertEqual(r.returncode, 0, r.stderr)
            first = read(f.name)
            r = script("--edit", f.name)
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertEqual(read(f.name), first, "a second run changed the file")
            return first

    def test_elevate_goes_last_before_the_marker_on_every_group_line(self):
        self.assertEqual(self.edit(TEMPLATE), EXPECTED)

    def test_a_plain_template_gains_elevate_at_the_end(self):
        self.assertEqual(self.edit(OLD_TEMPLATE), OLD_EXPECTED)

    def test_a_line_that_has_elevate_already_is_left_alone(self):
        text = "group:      elevate files sss\n"
        self.assertEqual(self.edit(text), text)

    def test_without_authselect_it_refuses_and_says_what_to_do(self):
        with tempfile.TemporaryDirectory() as empty:
            # Only the tools the script needs besides authselect.
            for tool in ("sed", "grep", "cut"):
                os.symlink(subprocess.run(["sh", "-c", f"command -v {tool}"], capture_output=True,
                                          text=True).stdout.strip(), os.path.join(empty, tool))
            r = script(env={"PATH": empty})
        self.assertEqual(r.returncode, 1)
        self.assertIn("authselect is not installed", r.stderr)
        self.assertIn("/etc/nsswitch.conf", r.stderr)

    def test_arguments(self):
        r = script("--help")
        self.assertEqual(r.returncode, 0)
        self.assertIn("--base", r.stdout)
        self.assertIn("--edit FILE", r.stdout)
        r = script("--frobnicate")
        self.assertEqual(r.returncode, 2)
        self.assertIn("unknown argument: --frobnicate", r.stderr)


if __name__ == "__main__":
    unittest.main(verbosity=2)
