#!/usr/bin/env bash
# The configuration reference in docs/configuration.md is what the binary says.
# Usage: docs_test.sh PATH/TO/seatflow PATH/TO/docs/configuration.md
set -euo pipefail
expected="$(sed -n '/<!-- BEGIN seatflow config --reference -->/,/<!-- END/{//!p}' "$2")"
actual="$("$1" config --reference)"
if [[ "$expected" != "$actual" ]]; then
  echo "docs/configuration.md is stale; regenerate its table with: seatflow config --reference"
  diff <(echo "$expected") <(echo "$actual") || true
  echo "0 passed, 1 failed"
  exit 1
fi
echo "1 passed, 0 failed"
