#!/usr/bin/env python3
"""Checks that the man pages say what the programs and the loader accept.

  check_man.py elevatectl BIN PAGE SOURCE_DIR
      every verb in `elevatectl --help` has an entry in VERBS; every option in
      `elevatectl --help`, in each `elevatectl VERB --help` and in the
      verbs' argument tables (cli/*.cpp) appears in that verb's entry (or in
      GLOBAL OPTIONS for the global ones)
  check_man.py elevated BIN PAGE SOURCE_DIR
      every option in `elevated --help` and in daemon/main.cpp's parser is an
      item of OPTIONS
  check_man.py pam PAGE SOURCE_DIR
      every option in pam_module/options.cpp's table is an item of OPTIONS
  check_man.py config PAGE SOURCE_DIR [CONFIG_MD]
      every key of every key table in common/config/loader.cpp is an item of
      its section of elevate.conf(5) (and is named in docs/CONFIG.md)
  check_man.py example PAGE ELEVATED_BIN
      the EXAMPLE of elevate.conf(5) passes `elevated --check-config`
  check_man.py header VERSION PAGE...
      every .TH names its file's section, one date and "elevate VERSION"

Exits 1 with one line per problem.
"""
import os
import re
import subprocess
import sys
import tempfile

problems = []


def problem(text):
    problems.append(text)


def read(path):
    with open(path, encoding="utf-8") as f:
        return f.read()


def plain(line):
    """A man(7) source line as the words it shows: no macro, no font or
    character escapes, no quotes."""
    line = re.sub(r"^\.[A-Za-z]+\s*", "", line)
    line = re.sub(r"\\f[BIRP]|\\f\(..|\\&|\\%", "", line)
    line = line.replace("\\-", "-").replace('"', "")
    line = re.sub(r"\\\(..", " ", line)
    return line


def split_by(lines, macro):
    """{heading: [lines]} of the parts of `lines` that `macro` (.SH, .SS) starts."""
    out, name = {}, None
    for line in lines:
        m = re.match("^" + re.escape(macro) + r'\s+"?([^"]*)"?\s*$', line)
        if m:
            name = m.group(1)
            out[name] = []
        elif name is not None:
            out[name].append(line)
    return out


def sections(page):
    return split_by(read(page).splitlines(), ".SH")


def subsections(lines):
    return split_by(lines, ".SS")


def entries(lines):
    """[(tag, body)] of the tagged paragraphs in `lines`; a .TQ tag is an
    entry of its own, holding the text it shares with the tags above it."""
    out = []
    i = 0
    while i < len(lines):
        if lines[i].startswith((".TP", ".TQ")) and i + 1 < len(lines):
            tag = plain(lines[i + 1])
            j = i + 2
            while j < len(lines) and not lines[j].startswith((".TP", ".TQ", ".SS", ".SH")):
                j += 1
            out.append((tag, "\n".join(plain(x) for x in lines[i + 1 : j])))
            i = j
        else:
            i += 1
    return out


def has_option(text, option):
    return re.search(r"(?<![\w-])" + re.escape(option) + r"(?![\w-])", text) is not None


def help_options(text):
    return set(re.findall(r"(?<![\w-])(--[a-z][a-z-]*|-[a-zA-Z])(?![\w-])", text))


def run(argv):
    r = subprocess.run(argv, capture_output=True, text=True, timeout=30)
    if r.returncode != 0:
        problem(" ".join(argv) + f": exit {r.returncode}: {r.stderr.strip()}")
    return r.stdout


# An ArgSpec option: {"name", 'c', ...} or {.name = "name", ...}.
ARG_SPEC = re.compile(r"\{\s*(?:\"([a-z][a-z-]*)\"\s*,\s*(?:'(.)'|0)\s*,\s*ValueKind|\.name\s*=\s*\"([a-z][a-z-]*)\")")


def source_options(path):
    text = read(path)
    out = set()
    for long_name, short, named in ARG_SPEC.findall(text):
        out.add("--" + (long_name or named))
        if short:
            out.add("-" + short)
    return out


def check_elevatectl(binary, page, source_dir):
    secs = sections(page)
    for needed in ("GLOBAL OPTIONS", "VERBS"):
        if needed not in secs:
            problem(f"{page}: no {needed} section")
            return
    top = run([binary, "--help"])
    verbs = []
    in_verbs = False
    for line in top.splitlines():
        if line == "Verbs:":
            in_verbs = True
        elif in_verbs and re.match(r"^  [a-z]+ ", line):
            verbs.append(line.split()[0])
        elif in_verbs and not line.strip():
            in_verbs = False
    if len(verbs) < 10:
        problem(f"{binary} --help lists only {len(verbs)} verbs: {verbs}")

    global_text = "\n".join(body for _, body in entries(secs["GLOBAL OPTIONS"]))
    options_part = top.split("\nOptions:\n", 1)[-1]
    global_opts = help_options(options_part) | source_options(os.path.join(source_dir, "cli/main.cpp"))
    for option in sorted(global_opts):
        if not has_option(global_text, option):
            problem(f"{page}: global option {option} (elevatectl --help, cli/main.cpp) is not in GLOBAL OPTIONS")

    verb_entries = entries(secs["VERBS"])
    for verb in verbs:
        mine = [body for tag, body in verb_entries if tag.split() and tag.split()[0] == verb]
        if not mine:
            problem(f"{page}: verb '{verb}' has no entry in VERBS")
            continue
        text = "\n".join(mine)
        named = help_options(run([binary, verb, "--help"]))
        source = os.path.join(source_dir, f"cli/verb_{verb}.cpp")
        if not os.path.exists(source):
            problem(f"{source}: missing (the verb's argument table is looked for there)")
            continue
        own = source_options(source)
        # The help may name another verb's option ("deny ID --reason TEXT"):
        # wanted here are the verb's own and the global ones it mentions.
        wanted = own | (named & global_opts)
        for option in sorted(named - wanted):
            if not any(has_option(body, option) for _, body in verb_entries):
                problem(f"{binary} {verb} --help names {option}, which no verb's entry in {page} has")
        # -h/--help is every verb's, documented once under GLOBAL OPTIONS.
        for option in sorted(wanted - {"-h", "--help"}):
            if not has_option(text, option):
                problem(f"{page}: option {option} of verb '{verb}' is not in its VERBS entry")
    print(f"elevatectl: {len(verbs)} verbs, {len(global_opts)} global options checked")


def check_options_section(page, options, what):
    secs = sections(page)
    if "OPTIONS" not in secs:
        problem(f"{page}: no OPTIONS section")
        return
    tags = "\n".join(tag for tag, _ in entries(secs["OPTIONS"]))
    for option in sorted(options):
        if not has_option(tags, option):
            problem(f"{page}: option {option} ({what}) is not an item of OPTIONS")


def check_elevated(binary, page, source_dir):
    options = help_options(run([binary, "--help"]).split("\nOptions:\n", 1)[-1].split("\n\n", 1)[0])
    parser = read(os.path.join(source_dir, "daemon/main.cpp"))
    options |= set(re.findall(r'a == "(-[-a-zA-Z]+)"', parser))
    options |= {m + "=" for m in re.findall(r'a\.rfind\("(--[a-z-]+)=", 0\)', parser)}
    if len(options) < 5:
        problem(f"elevated: only {sorted(options)} found in --help and daemon/main.cpp")
    check_options_section(page, options, "elevated --help, daemon/main.cpp")
    print(f"elevated: {len(options)} options checked")


def check_pam(page, source_dir):
    table = read(os.path.join(source_dir, "pam_module/options.cpp"))
    names = re.findall(r'\{"([a-z0-9_]+)",\s*(?:true|false),\s*set_', table)
    if len(names) < 10:
        problem(f"pam_module/options.cpp: only {names} found in the option table")
    check_options_section(page, set(names), "pam_module/options.cpp")
    print(f"pam_elevate: {len(names)} options checked")


# Where each key table of the loader is documented in elevate.conf(5).
TABLE_SECTIONS = {
    "kDaemonKeys": "[daemon]",
    "kTotpKeys": "[totp]",
    "kLockoutKeys": "[lockout]",
    "kPushKeys": "[push]",
    "kWebhookKeys": "[push.webhook]",
    "kDuoKeys": "[push.duo]",
    "kNotifyKeys": "[notify]",
    "kRoleKeys": "[[role]]",
    "kApprovalKeys": "Approval tables",
    "kPolicyKeys": "[policy]",
    "kNetworkKeys": "[policy.networks.NAME]",
    "kScheduleKeys": "[policy.schedules.NAME]",
    "kRuleKeys": "[[policy.rule]]",
    "kRiskKeys": "[risk]",
    "kRiskWeightKeys": "[risk.weights]",
}


def loader_tables(loader):
    """{table name: [keys]} from every `const KeySpec<T> kXKeys[] = {...};`."""
    text = read(loader)
    tables = {}
    for m in re.finditer(r"const KeySpec<\w+> (k\w+)\[\] = \{", text):
        depth, i = 1, m.end()
        while depth and i < len(text):
            depth += {"{": 1, "}": -1}.get(text[i], 0)
            i += 1
        body = text[m.end() : i - 1]
        # Each entry opens with `{"key",` at the table's own level.
        keys, depth = [], 0
        for t in re.finditer(r'[{}]|"(?:[^"\\]|\\.)*"', body):
            tok = t.group(0)
            if tok == "{":
                depth += 1
                if depth == 1:
                    k = re.match(r'\s*"([a-z0-9_]+)"\s*,', body[t.end() :])
                    if k:
                        keys.append(k.group(1))
            elif tok == "}":
                depth -= 1
        tables[m.group(1)] = keys
    sections_list = re.search(r"kSections = \{([^}]*)\}", text)
    top = re.findall(r'"([a-z0-9_]+)"', sections_list.group(1)) if sections_list else []
    return tables, top


def check_config(page, source_dir, config_md):
    loader = os.path.join(source_dir, "common/config/loader.cpp")
    tables, top = loader_tables(loader)
    if len(tables) < len(TABLE_SECTIONS) or len(top) < 8:
        problem(f"{loader}: found only tables {sorted(tables)} and sections {top}")
    secs = sections(page)
    subs = subsections(secs.get("SECTIONS", []))
    for section in top:
        if f"[{section}]" not in subs and f"[[{section}]]" not in subs:
            problem(f"{page}: top-level section '{section}' (loader kSections) has no .SS")
    md = read(config_md) if config_md else ""
    count = 0
    for table, keys in sorted(tables.items()):
        where = TABLE_SECTIONS.get(table)
        if where is None:
            problem(f"{loader}: key table {table} is new: add it to TABLE_SECTIONS in {__file__} and to {page}")
            continue
        if where not in subs:
            problem(f"{page}: no .SS \"{where}\" (for {table})")
            continue
        tagged = set()
        for tag, _ in entries(subs[where]):
            # The tag line names the key(s) in bold: "\fBkey\fR = type".
            tagged |= set(re.findall(r"^([a-z0-9_]+)(?= =|,|$)", tag)) | set(re.findall(r", ([a-z0-9_]+)", tag))
        for key in keys:
            count += 1
            if key not in tagged:
                problem(f"{page}: key '{key}' ({table}) is not an item of {where}")
            # A table key is named by its table's heading ("[push.webhook]").
            if md and f"`{key}`" not in md and not re.search(r"[.]" + key + r"[].]", md):
                problem(f"{config_md}: key '{key}' ({table}) is not named")
    print(f"elevate.conf: {count} keys in {len(tables)} tables checked")


def check_example(page, elevated):
    secs = sections(page)
    lines = secs.get("EXAMPLE", [])
    blocks, current = [], None
    for line in lines:
        if line.startswith(".nf"):
            current = []
        elif line.startswith(".fi"):
            blocks.append(current)
            current = None
        elif current is not None:
            current.append(line.replace("\\-", "-").replace("\\(aq", "'"))
    if not blocks:
        problem(f"{page}: EXAMPLE has no .nf block")
        return
    with tempfile.TemporaryDirectory() as d:
        main = os.path.join(d, "elevate.conf")
        with open(main, "w") as f:
            f.write("\n".join(blocks[0]) + "\n")
        if len(blocks) > 1:
            os.mkdir(main + ".d")
            with open(os.path.join(main + ".d", "50-oncall.conf"), "w") as f:
                f.write("\n".join(blocks[1]) + "\n")
        r = subprocess.run([elevated, "--check-config", "-c", main], capture_output=True, text=True, timeout=30)
        if r.returncode != 0 or r.stderr:
            problem(f"{page}: EXAMPLE fails elevated --check-config (exit {r.returncode}): {r.stderr.strip()}")
        else:
            print(r.stdout.strip().replace(d, "EXAMPLE"))


def check_header(version, pages):
    dates = set()
    for page in pages:
        first = read(page).splitlines()[0]
        words = re.findall(r'"[^"]*"|\S+', first)
        if len(words) < 5 or words[0] != ".TH":
            problem(f"{page}: first line is not .TH NAME SECTION DATE SOURCE MANUAL")
            continue
        section = os.path.basename(page).rsplit(".", 1)[-1]
        if words[2] != section:
            problem(f"{page}: .TH section {words[2]} but the file is for section {section}")
        dates.add(words[3])
        if words[4].strip('"') != f"elevate {version}":
            problem(f"{page}: .TH source {words[4]} is not \"elevate {version}\"")
    if len(dates) != 1:
        problem(f".TH dates differ between pages: {sorted(dates)}")
    print(f"headers: {len(pages)} pages, date {sorted(dates)}")


def main():
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "elevatectl":
        check_elevatectl(*args)
    elif cmd == "elevated":
        check_elevated(*args)
    elif cmd == "pam":
        check_pam(*args)
    elif cmd == "config":
        check_config(args[0], args[1], args[2] if len(args) > 2 else None)
    elif cmd == "example":
        check_example(*args)
    elif cmd == "header":
        check_header(args[0], args[1:])
    else:
        sys.exit(f"unknown check {cmd}")
    for p in problems:
        print(p)
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
