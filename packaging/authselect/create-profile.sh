#!/bin/sh
# Makes an authselect custom profile that adds elevate's NSS module to the
# group database, and selects it with the features enabled today. Packages
# must not select an authselect profile on their own; an admin runs this.
#
#   sh create-profile.sh [--base PROFILE] [--name NAME] [--no-select]
#   sh create-profile.sh --edit FILE
#
# --base   the profile to derive from (default sssd; local or winbind work too)
# --name   the custom profile's name (default elevate: custom/elevate)
# --no-select  create (or update) the profile, leave the selection alone
# --edit FILE  only add "elevate" to the group: lines of an nsswitch.conf
#          template, e.g. of a custom profile made by hand
#
# PAM is not touched: the profile links the base profile's PAM files
# (--symlink-pam), and pam_elevate's lines go into /etc/pam.d/sudo and
# /etc/pam.d/sshd, which authselect does not own (see README).
set -eu

# "elevate" goes last on every group: line, before authselect's trailing
# {include if ...} / {exclude if ...} marker; a line that has it already is
# left as it is, so running this twice changes nothing.
add_elevate() {
  sed -E -i \
    -e '/^group:.*[[:space:]]elevate([[:space:]]|$)/b' \
    -e 's/^(group:.*[^[:space:]])[[:space:]]+(\{(ex|in)clude if "[^"]*"\})[[:space:]]*$/\1 elevate \2/' \
    -e 't' \
    -e 's/^(group:.*[^[:space:]])[[:space:]]*$/\1 elevate/' \
    "$1"
}

base=sssd
name=elevate
select=1
while [ $# -gt 0 ]; do
  case $1 in
    --base) base=$2; shift 2 ;;
    --name) name=$2; shift 2 ;;
    --no-select) select=0; shift ;;
    --edit) add_elevate "$2"; exit 0 ;;
    -h|--help) sed -n '2,17s/^# \{0,1\}//p' "$0"; exit 0 ;;
    *) echo "create-profile.sh: unknown argument: $1" >&2; exit 2 ;;
  esac
done

command -v authselect >/dev/null || {
  echo "create-profile.sh: authselect is not installed; add \"elevate\" to the group line of /etc/nsswitch.conf by hand" >&2
  exit 1
}

dir=/etc/authselect/custom/$name
if [ ! -d "$dir" ]; then
  authselect create-profile "$name" -b "$base" --symlink-meta --symlink-pam
fi
add_elevate "$dir/nsswitch.conf"
grep '^group:' "$dir/nsswitch.conf"

if [ "$select" = 1 ]; then
  # Keep the features selected today (with-sudo, with-mkhomedir, ...).
  features=$(authselect current --raw 2>/dev/null | cut -s -d' ' -f2-) || features=
  # shellcheck disable=SC2086 # one word per feature
  authselect select "custom/$name" $features
fi
