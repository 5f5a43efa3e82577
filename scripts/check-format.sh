#!/bin/sh
# Fails if any C/C++ source differs from .clang-format (clang-format -i fixes it).
set -eu
cd "$(dirname "$0")/.."
files=$(git ls-files '*.c' '*.cpp' '*.h')
# shellcheck disable=SC2086
clang-format --dry-run -Werror $files
echo "format: $(echo "$files" | wc -l) files follow .clang-format"
