#!/usr/bin/env bash
# Builds the web client into web/dist (npm ci from the committed lockfile when node_modules is missing or stale).
# With --test also runs its unit tests and makes sure Debian's chromium is there for the browser test.
set -euo pipefail
cd "$(dirname "$0")/../web"
command -v node >/dev/null || { echo "Node.js is required for the web client (apt-get install nodejs npm)" >&2; exit 1; }
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund --loglevel=error
fi
log=$(mktemp); trap 'rm -f "$log"' EXIT
npm run --silent build >"$log" 2>&1 || { cat "$log" >&2; echo "the web client's build failed" >&2; exit 1; }
if [ "${1:-}" = "--test" ]; then
  npx --no-install vitest run --reporter=dot
  if [ ! -x /usr/bin/chromium ] && [ -z "${CHROMIUM:-}" ]; then
    echo "Installing Debian's chromium for the browser test..." >&2
    if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
    $SUDO apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium >/dev/null
  fi
fi
