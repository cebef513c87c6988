# Shared helpers for the scripts. Source it; do not run it.

# Prints a free TCP port on 127.0.0.1, from below the kernel's ephemeral
# range and never the same twice for this shell (see free_port.py).
free_port() {
  python3 "$(dirname "${BASH_SOURCE[0]}")/free_port.py" "$$"
}

# wait_for SECONDS COMMAND...: retries COMMAND until it succeeds or time runs out.
wait_for() {
  local deadline=$((SECONDS + $1))
  shift
  until "$@" >/dev/null 2>&1; do
    if ((SECONDS >= deadline)); then
      return 1
    fi
    sleep 0.2
  done
}

log() { printf '==> %s\n' "$*" >&2; }
