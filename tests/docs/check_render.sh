#!/bin/bash
# check_render.sh PAGE...: every page renders without a single warning
# through man(1) and groff(1), and lexgrog(1) finds a NAME section that
# names the page's file. Pages are laid out in a manN/ tree first, so a
# `.so man8/other.8` link page resolves as it does once installed.
set -u
status=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

pages=()
for page in "$@"; do
    name=$(basename "$page")
    section=${name##*.}
    mkdir -p "$tmp/man$section"
    cp "$page" "$tmp/man$section/$name"
    pages+=("man$section/$name")
done

cd "$tmp" || exit 1
for page in "${pages[@]}"; do
    name=$(basename "$page")
    out=$(LC_ALL=C.UTF-8 MANROFFSEQ='' MANWIDTH=80 man --warnings -E UTF-8 -l -Tutf8 -Z "$page" 2>&1 >/dev/null)
    if [ -n "$out" ]; then
        echo "$page: man --warnings: $out"
        status=1
    fi
    out=$(groff -ww -z -man "$page" 2>&1)
    if [ -n "$out" ]; then
        echo "$page: groff -ww: $out"
        status=1
    fi
    # lexgrog prints `FILE: "name, other - description"`, one line per name.
    if ! names=$(lexgrog "$page" 2>&1); then
        echo "$page: lexgrog finds no NAME section: $names"
        status=1
        continue
    fi
    if ! grep -qF ": \"${name%.*} - " <<<"$names"; then
        echo "$page: lexgrog's NAME does not name ${name%.*}: $names"
        status=1
    fi
    # The text a reader sees is there (not an empty page that warns about nothing).
    lines=$(LC_ALL=C.UTF-8 MANWIDTH=80 man -E UTF-8 -l "$page" 2>/dev/null | wc -l)
    if [ "$lines" -lt 20 ]; then
        echo "$page: renders to only $lines lines"
        status=1
    fi
    [ "$status" = 0 ] && echo "$page: renders cleanly ($lines lines); $names"
done
exit "$status"
