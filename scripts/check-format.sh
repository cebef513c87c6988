#!/usr/bin/env bash
# Fails when a C++ file of the project does not follow .clang-format.
# Usage: scripts/check-format.sh [clang-format binary]
set -euo pipefail
cd "$(dirname "$0")/.."
clang_format="${1:-clang-format}"
mapfile -t files < <(git ls-files --cached --others --exclude-standard -- '*.cpp' '*.hpp' 'src/**' 'tests/**' 'bench/**' | grep -E '\.(cpp|hpp)$' | sort -u)
[[ ${#files[@]} -gt 0 ]] || exit 0
"$clang_format" --dry-run --Werror "${files[@]}"
echo "format: ${#files[@]} files follow .clang-format"
