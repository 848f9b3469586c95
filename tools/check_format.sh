#!/usr/bin/env bash
# Checks that every C++ file is formatted as .clang-format says (clang-format 14, Debian 12's).
# Run by tools/test.sh. To fix:  tools/check_format.sh --fix
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

fmt=clang-format-14
command -v "$fmt" >/dev/null || { echo "check_format: $fmt is missing (tools/deps.sh build installs it)" >&2; exit 1; }
mapfile -t files < <(git ls-files '*.cc' '*.h')
if [[ ${1:-} == --fix ]]; then
  "$fmt" -i "${files[@]}"
  echo "check_format: formatted ${#files[@]} files"
  exit 0
fi
if ! "$fmt" --dry-run --Werror "${files[@]}" 2>/tmp/clonefs-format.$$; then
  grep -E '^[^ ].*: (error|warning):' /tmp/clonefs-format.$$ | cut -d: -f1 | sort -u |
    sed 's/^/check_format: not formatted: /'
  rm -f /tmp/clonefs-format.$$
  echo "check_format: FAILED; run tools/check_format.sh --fix" >&2
  exit 1
fi
rm -f /tmp/clonefs-format.$$
echo "check_format: OK (${#files[@]} files)"
