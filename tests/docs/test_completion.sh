#!/bin/bash
# test_completion.sh ELEVATECTL COMPLETION BASH_COMPLETION
#
# Sources bash-completion and packaging/bash-completion/elevatectl in bash,
# calls _elevatectl with COMP_WORDS/COMP_CWORD/COMP_LINE as bash sets them,
# and checks COMPREPLY: verbs and options against elevatectl's own --help,
# role names from a configuration (ELEVATECTL_COMPLETION_CONFIG), files the
# user cannot read, user names.
set -u
elevatectl=$1
completion=$2
bash_completion=$3
failures=0
passes=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
chmod 755 "$tmp"
# A copy, so that the unprivileged user below can read it wherever the
# source tree is.
cp "$completion" "$tmp/completion"
completion=$tmp/completion
chmod 644 "$completion"

# complete LINE WORD...: COMP_LINE as typed, COMP_WORDS as bash splits it
# (COMP_WORDBREAKS: "--role=w" is "--role" "=" "w"); prints COMPREPLY
# sorted, one a line.
cat >"$tmp/harness.sh" <<EOF
source '$bash_completion'
source '$completion'
line=\$1
shift
COMP_LINE=\$line
COMP_POINT=\${#line}
COMP_WORDS=("\$@")
COMP_CWORD=\$((\$# - 1))
COMPREPLY=()
_elevatectl elevatectl "\${COMP_WORDS[COMP_CWORD]}" "\${COMP_WORDS[COMP_CWORD - 1]}"
printf '%s\n' "\${COMPREPLY[@]}" | LC_ALL=C sort -u | sed '/^\$/d'
EOF
chmod 644 "$tmp/harness.sh"

complete() {
    bash "$tmp/harness.sh" "$@" 2>"$tmp/stderr"
    if [ -s "$tmp/stderr" ]; then
        echo "FAIL [$1]: completion wrote to stderr: $(cat "$tmp/stderr")" >&2
        failures=$((failures + 1))
    fi
}

words() { tr ' ' '\n' | sed '/^$/d' | LC_ALL=C sort -u; }

# expect NAME EXPECTED ACTUAL: both are word lists.
expect() {
    local want got
    want=$(words <<<"$2")
    got=$(words <<<"$3")
    if [ "$want" = "$got" ]; then
        passes=$((passes + 1))
        echo "ok   $1: $(echo "$got" | tr '\n' ' ')"
    else
        failures=$((failures + 1))
        echo "FAIL $1"
        echo "  want: $(echo "$want" | tr '\n' ' ')"
        echo "  got:  $(echo "$got" | tr '\n' ' ')"
    fi
}

# expect_has NAME WORD ACTUAL
expect_has() {
    if grep -qxF "$2" <<<"$3"; then
        passes=$((passes + 1))
        echo "ok   $1: offers $2"
    else
        failures=$((failures + 1))
        echo "FAIL $1: $2 not offered (got: $(echo "$3" | tr '\n' ' '))"
    fi
}

help=$("$elevatectl" --help) || {
    echo "FAIL: $elevatectl --help"
    exit 1
}
verbs=$(sed -n '/^Verbs:$/,/^$/p' <<<"$help" | awk 'NF > 1 { print $1 }')
globals=$(sed -n '/^Options:$/,$p' <<<"$help" | grep -oE -- '--[a-z][a-z-]*' | sort -u)

# ---------------------------------------------------------------- verbs
expect "verbs" "$verbs" "$(complete 'elevatectl ' elevatectl '')"
expect "verbs starting with r" "$(grep '^r' <<<"$verbs")" "$(complete 'elevatectl r' elevatectl r)"
expect "global options" "$globals" "$(complete 'elevatectl --' elevatectl --)"
expect "verb after --socket=PATH" "$(grep '^r' <<<"$verbs")" \
    "$(complete 'elevatectl --socket=/x r' elevatectl --socket = /x r)"
expect "verb after --timeout N" "$verbs" "$(complete 'elevatectl --timeout 5 ' elevatectl --timeout 5 '')"

# ------------------------------------------------- each verb's options
# Offered: exactly the options of the verb's usage lines (up to the first
# blank line) and of its option list (lines that start with "  -"), plus
# --help; not the options its prose mentions ("or deny ID --reason TEXT").
for verb in $verbs; do
    usage=$("$elevatectl" "$verb" --help)
    own=$( (
        echo "--help"
        { sed '/^$/q' <<<"$usage"; grep -E '^ +-' <<<"$usage"; } | grep -oE -- '--[a-z][a-z-]*'
    ) | sort -u)
    expect "options of $verb" "$own" "$(complete "elevatectl $verb --" elevatectl "$verb" --)"
done

# ----------------------------------------------------------- role names
conf=$tmp/elevate.conf
cat >"$conf" <<'EOF'
[daemon]
admin_group = "admins"
name = "not-a-role"

[[role]]
name = "db-admin"
gid = 60001
eligible_users = ["alice"]

[[ role ]]   # spaces and a comment
  name="web-admin"
  approval = { approvers = ["group:leads"] }

[[policy.rule]]
name = "a-rule"
deny = "no"

[policy.networks.office]
cidrs = ["10.0.0.0/8"]
EOF
mkdir "$conf.d"
printf '[[role]]\nname = "zeta"\ngid = 60003\n' >"$conf.d/10-zeta.conf"
printf '[[role]]\nname = "ignored"\n' >"$conf.d/10-zeta.conf.bak"
printf '[[role]]\nname = "hidden"\n' >"$conf.d/.hidden.conf"
printf '[[role]]\nname = "secret-role"\n' >"$conf.d/50-secret.conf"
chmod 644 "$conf" "$conf.d"/*
chmod 755 "$conf.d"
export ELEVATECTL_COMPLETION_CONFIG=$conf

expect "roles for activate" "db-admin web-admin zeta secret-role" "$(complete 'elevatectl activate ' elevatectl activate '')"
expect "roles for drop" "db-admin web-admin zeta secret-role" "$(complete 'elevatectl drop ' elevatectl drop '')"
expect "list --role=w" "web-admin" "$(complete 'elevatectl list --role=w' elevatectl list --role = w)"
expect "explain --role d" "db-admin" "$(complete 'elevatectl explain --role d' elevatectl explain --role d)"
expect "activate after the role: nothing" "" "$(complete 'elevatectl activate db-admin ' elevatectl activate db-admin '')"
expect "no role in a value" "" "$(complete 'elevatectl activate --reason ' elevatectl activate --reason '')"

# A file the user cannot read gives no names, and no error.
chmod 600 "$conf.d/50-secret.conf"
as_other=()
if [ "$(id -u)" = 0 ]; then
    as_other=(setpriv --reuid=65534 --regid=65534 --clear-groups)
else
    chmod 000 "$conf.d/50-secret.conf"
fi
unreadable=$("${as_other[@]}" bash "$tmp/harness.sh" 'elevatectl activate ' elevatectl activate '' 2>"$tmp/stderr")
expect "unreadable drop-in gives no names" "db-admin web-admin zeta" "$unreadable"
expect "unreadable drop-in: nothing on stderr" "" "$(cat "$tmp/stderr")"
chmod 600 "$conf"
[ -z "${as_other[*]}" ] && chmod 000 "$conf"
unreadable=$("${as_other[@]}" bash "$tmp/harness.sh" 'elevatectl activate ' elevatectl activate '' 2>"$tmp/stderr")
expect "unreadable main file gives no names from it" "zeta" "$unreadable"
expect "unreadable main file: nothing on stderr" "" "$(cat "$tmp/stderr")"
export ELEVATECTL_COMPLETION_CONFIG=$tmp/missing.conf
expect "missing configuration gives no names" "" "$(complete 'elevatectl activate ' elevatectl activate '')"

# ----------------------------------------------------- users and values
root_user=$(getent passwd 0 | cut -d: -f1)
expect_has "unlock USER" "$root_user" "$(complete "elevatectl unlock ${root_user:0:2}" elevatectl unlock "${root_user:0:2}")"
expect_has "status USER" "$root_user" "$(complete "elevatectl status ${root_user:0:2}" elevatectl status "${root_user:0:2}")"
expect_has "list --user USER" "$root_user" \
    "$(complete "elevatectl list --user ${root_user:0:2}" elevatectl list --user "${root_user:0:2}")"
expect "risk subcommands" "show dismiss confirm" "$(complete 'elevatectl risk ' elevatectl risk '')"
expect_has "risk show USER" "$root_user" \
    "$(complete "elevatectl risk show ${root_user:0:2}" elevatectl risk show "${root_user:0:2}")"
expect "explain --service s" "sudo sshd su" "$(complete 'elevatectl explain --service s' elevatectl explain --service s)"
expect_has "explain --from" "unknown" "$(complete 'elevatectl explain --from u' elevatectl explain --from u)"

echo "$passes passed, $failures failed"
[ "$failures" = 0 ]
