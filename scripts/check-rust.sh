#!/usr/bin/env bash
# Fails early, with what to do, when the Rust toolchain is missing or too old.
set -euo pipefail
if ! command -v cargo >/dev/null 2>&1; then
  echo "cargo is not on PATH: install Rust (https://rustup.rs) and open a new shell" >&2
  exit 1
fi
need=1.94.1
have=$(rustc --version | awk '{print $2}')
if [ "$(printf '%s\n%s\n' "$need" "$have" | sort -V | head -n1)" != "$need" ]; then
  echo "rustc $have is older than $need: run 'rustup update'" >&2
  exit 1
fi
