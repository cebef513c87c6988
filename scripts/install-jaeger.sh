#!/usr/bin/env bash
# Builds Jaeger v2 (the all-in-one `jaeger` binary: OTLP receiver, in-memory
# storage, query API) with the Go toolchain, and caches it. Prints the
# binary's path. Fast when it is cached.
#
# Jaeger's v2 binary lives in the jaeger module's cmd/jaeger, whose module
# path still carries v1 version numbers; `go install …@v2.x` cannot name it.
# So this builds it from a throwaway module that requires the v1.76.0 module
# (the Jaeger v2.13 release), with the `replace` that Jaeger's own go.mod
# carries, and Jaeger's own go.sum to pin every dependency.
#
# Usage: scripts/install-jaeger.sh            (prints the binary's path)
# Environment: SEATFLOW_CACHE_DIR (default ~/.cache/seatflow)
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/common.sh

JAEGER_MODULE_VERSION=v1.76.0  # = Jaeger v2.13.0
cache="${SEATFLOW_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/seatflow}"
binary="$cache/jaeger-$JAEGER_MODULE_VERSION"

if [[ -x "$binary" ]]; then
  echo "$binary"
  exit 0
fi

if ! command -v go >/dev/null 2>&1; then
  if [[ -x /usr/local/go/bin/go ]]; then
    export PATH="/usr/local/go/bin:$PATH"
  else
    echo "install-jaeger: the Go toolchain (1.24 or later) is needed to build Jaeger" >&2
    exit 1
  fi
fi

log "building Jaeger $JAEGER_MODULE_VERSION with $(go version | cut -d' ' -f3) (once; this takes a while)"
mkdir -p "$cache"
work="$(mktemp -d -t seatflow-jaeger.XXXXXX)"
trap 'rm -rf "$work"' EXIT
cat >"$work/go.mod" <<MOD
module seatflow.invalid/jaegerbuild

go 1.24.6

require github.com/jaegertracing/jaeger $JAEGER_MODULE_VERSION

replace github.com/Shopify/sarama => github.com/Shopify/sarama v1.33.0
MOD
cat >"$work/tools.go" <<'GO'
//go:build tools

package tools

import _ "github.com/jaegertracing/jaeger/cmd/jaeger"
GO
(
  cd "$work"
  export GOFLAGS=-mod=mod
  module_dir="$(go mod download -json "github.com/jaegertracing/jaeger@$JAEGER_MODULE_VERSION" |
    python3 -c 'import json, sys; print(json.load(sys.stdin)["Dir"])')"
  cat "$module_dir/go.sum" >>go.sum
  go build -trimpath -o "$binary.tmp" github.com/jaegertracing/jaeger/cmd/jaeger
)
mv "$binary.tmp" "$binary"
log "Jaeger is at $binary"
echo "$binary"
