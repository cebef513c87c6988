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
unchecked=()
for f in "${files[@]}"; do
  key="$context-$(sha256sum "$f" | cut -c1-16)"
  [[ -e "$cache/$key" ]] || unchecked+=("$f")
done

# One clang-tidy per file, two at a time; a file that passes is stamped at once.
check_one() {
  local file="$1"
  if "$tidy" -p build --quiet "$file" >"$cache/$file.log" 2>&1; then
    touch "$cache/$context-$(sha256sum "$file" | cut -c1-16)"
  else
    grep -vE '^[0-9]+ warnings? (and [0-9]+ errors? )?generated|^Suppressed [0-9]+ warnings|^Use -header-filter' \
      "$cache/$file.log"
    return 1
  fi
}
export -f check_one
export tidy cache context

if [[ ${#unchecked[@]} -gt 0 ]]; then
  for f in "${unchecked[@]}"; do mkdir -p "$cache/$(dirname "$f")"; done
  if ! printf '%s\n' "${unchecked[@]}" | xargs -P "$(nproc)" -I{} bash -c 'check_one "$1"' _ {}; then
    echo "lint: clang-tidy found problems"
    exit 1
  fi
fi
echo "lint: ${#files[@]} files pass clang-tidy (${#unchecked[@]} checked now)"
