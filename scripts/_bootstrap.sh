# Sourced by scripts/demo and scripts/test: make .venv and install the project into it.
# Reinstalls only when pyproject.toml changed, so repeated runs start in seconds.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"

find_python() {
  for candidate in "${PYTHON:-}" python3.13 python3.12 python3.11 python3; do
    [ -n "$candidate" ] || continue
    if command -v "$candidate" >/dev/null 2>&1 &&
      "$candidate" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' 2>/dev/null; then
      echo "$candidate"
      return 0
    fi
  done
  echo "ledgerbridge needs Python 3.11 or newer; set PYTHON=/path/to/python3.11" >&2
  return 1
}

bootstrap() {
  local extras="$1"
  local stamp="$VENV/.ledgerbridge-installed"
  local want
  want="$(cat "$ROOT/pyproject.toml" | sha256sum | cut -c1-16)-$extras"
  if [ ! -x "$VENV/bin/python" ]; then
    "$(find_python)" -m venv "$VENV"
  fi
  if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
    echo "Installing ledgerbridge and its dependencies into .venv ..." >&2
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade pip
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -e "$ROOT[$extras]"
    echo "$want" >"$stamp"
  fi
}

# The browser tests drive Debian's Chromium (never a browser downloaded by Playwright).
# As root on a machine without it, install it from apt; elsewhere the browser tests skip
# with a message saying how to install it.
ensure_chromium() {
  [ -x /usr/bin/chromium ] && return 0
  if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    echo "Installing Chromium for the browser tests (apt-get install chromium) ..." >&2
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium >/dev/null
  fi
}
