#!/usr/bin/env bash
# clang-tidy over the project's own sources, with .clang-tidy; fails on any
# warning. Needs a configured build/ (scripts/build.sh) for
# compile_commands.json. A file that passed is remembered (build/lint-cache)
# until it, any project header or .clang-tidy changes.
# Usage: scripts/lint.sh [files...]
set -euo pipefail
cd "$(dirname "$0")/.."
tidy="$(command -v clang-tidy || command -v clang-tidy-14)"
if [[ $# -gt 0 ]]; then
  files=("$@")
else
  mapfile -t files < <(git ls-files --cached --others --exclude-standard -- 'src/*.cpp' 'tests/*.cpp' 'bench/*.cpp' | sort -u)
fi

cache=build/lint-cache
mkdir -p "$cache"
context="$( (cat .clang-tidy; git ls-files --cached --others --exclude-standard -- '*.hpp' | sort | xargs cat) | sha256sum | cut -c1-16)"
todo=()
for f in "${files[@]}"; do
  key="$context-$(sha256sum "$f" | cut -c1-16)"
  [[ -e "$cache/$key" ]] || todo+=("$f")
done

if [[ ${#todo[@]} -gt 0 ]]; then
  printf '%s\n' "${todo[@]}" | xargs -P "$(nproc)" -n 2 "$tidy" -p build --quiet 2>/dev/null
  for f in "${todo[@]}"; do
    touch "$cache/$context-$(sha256sum "$f" | cut -c1-16)"
  done
fi
echo "lint: ${#files[@]} files pass clang-tidy (${#todo[@]} checked now)"
