#!/usr/bin/env bash
# Cross-builds the Lambda functions for arm64 (Graviton) with cargo-lambda and zig, and makes the ffmpeg layer, into
# what `sam build` / `sam deploy` take: target/lambda/<binary>/bootstrap and .tools/lambda/ffmpeg-layer/bin/ffmpeg.
# Prints each artifact's size.
# Usage: scripts/lambda.sh [--debug] [CRATE...]   (default: every function crate, release profile)
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"
profile=(--release)
if [ "${1:-}" = "--debug" ]; then profile=(); shift; fi
crates=("$@")
if [ ${#crates[@]} -eq 0 ]; then
  for d in functions/*/; do crates+=("framelift-$(basename "$d")"); done
fi
py=$(scripts/python-tools.sh aws)
export PATH="$(dirname "$py"):$PATH"
rustup target list --installed | grep -qx aarch64-unknown-linux-gnu || rustup target add aarch64-unknown-linux-gnu >&2
packages=()
for c in "${crates[@]}"; do packages+=(-p "$c"); done
cargo lambda build "${profile[@]}" --arm64 "${packages[@]}" >&2
scripts/fetch-ffmpeg.sh aarch64 .tools/lambda/ffmpeg-layer/bin >/dev/null
echo "artifact                                   bytes"
for c in "${crates[@]}"; do
  printf '%-40s %10d\n' "target/lambda/$c/bootstrap" "$(stat -c %s "target/lambda/$c/bootstrap")"
done
printf '%-40s %10d\n' ".tools/lambda/ffmpeg-layer/bin/ffmpeg" "$(stat -c %s .tools/lambda/ffmpeg-layer/bin/ffmpeg)"
