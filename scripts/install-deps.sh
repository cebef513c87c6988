#!/usr/bin/env bash
# Installs every system package that building, testing and running Seatflow
# needs, by Debian package name. Idempotent: when everything is present it
# only asks dpkg and returns in well under a second.
#
# docs/dependencies.md says what each package is for.
set -euo pipefail

packages=(
  # toolchain
  g++ cmake ninja-build ccache pkg-config python3 clang-format clang-tidy
  # libraries
  libboost1.81-dev libboost-json1.81-dev libboost-url1.81-dev
  libpq-dev libsqlite3-dev librdkafka-dev libssl-dev
  libspdlog-dev libfmt-dev libtomlplusplus-dev libcli11-dev libexpected-dev
  prometheus-cpp-dev libgoogle-perftools-dev
  # tests and benchmarks
  libgtest-dev libgmock-dev libbenchmark-dev
  postgresql-15 wrk nginx-light curl
  # scripts/cluster.sh's metrics server
  prometheus
  # the web UI's browser tests and benchmark (playwright-core drives it)
  chromium
  # the Kafka broker (scripts/install-kafka.sh fetches its jars with Maven)
  openjdk-17-jre-headless maven
)

# The web UI builds with Node.js 20 or newer (Vite 7), which the machine
# provides; Debian 12's own nodejs is 18, too old.
if ! node -e 'process.exit(Number(process.versions.node.split(".")[0]) >= 20 ? 0 : 1)' 2>/dev/null; then
  echo "install-deps: the web UI needs Node.js >= 20 (node and npm on PATH)" >&2
  exit 1
fi

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q '^install ok installed$'; then
    missing+=("$p")
  fi
done

if [[ ${#missing[@]} -eq 0 ]]; then
  exit 0
fi

echo "==> installing ${missing[*]}" >&2
sudo_cmd=()
if [[ $(id -u) -ne 0 ]]; then
  sudo_cmd=(sudo)
fi
export DEBIAN_FRONTEND=noninteractive
"${sudo_cmd[@]}" apt-get update -qq
"${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
# The Debian packages start a system PostgreSQL, nginx and Prometheus; the
# project never uses them (tests start their own on free ports), so leave
# them stopped.
if command -v systemctl >/dev/null && systemctl is-system-running >/dev/null 2>&1; then
  "${sudo_cmd[@]}" systemctl disable --now postgresql nginx prometheus >/dev/null 2>&1 || true
fi
