#!/usr/bin/env bash
# Runs the arm64 artifacts once on this x86_64 machine under qemu (Debian's qemu-user-static, with the arm64 C library
# as its root), as Lambda's Graviton would run them:
#   - the ffmpeg layer (.tools/lambda/ffmpeg-layer/bin/ffmpeg) encodes a second of video with sound, which the host's
#     ffmpeg then decodes whole;
#   - the abort function's bootstrap (target/lambda/framelift-abort/bootstrap, built by `scripts/lambda.sh --debug
#     framelift-abort`) starts, polls cargo-lambda's runtime emulator, and answers its sample event (whose token is a
#     placeholder) with a 401, as it would on Lambda. Its settings are placeholders: the request never reaches AWS.
# Installs qemu-user-static, libc6-arm64-cross and libgcc-s1-arm64-cross with apt-get when missing.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"
root=/usr/aarch64-linux-gnu
if ! command -v qemu-aarch64-static >/dev/null || [ ! -e "$root/lib/ld-linux-aarch64.so.1" ] || [ ! -e "$root/lib/libgcc_s.so.1" ]; then
  echo "Installing qemu-user-static and the arm64 C library (for running arm64 binaries here)..." >&2
  if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
  $SUDO apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq qemu-user-static libc6-arm64-cross libgcc-s1-arm64-cross >/dev/null
fi
qemu() { qemu-aarch64-static -L "$root" "$@"; }
host_ffmpeg=$(scripts/fetch-ffmpeg.sh)/ffmpeg
layer=.tools/lambda/ffmpeg-layer/bin/ffmpeg
bootstrap=target/lambda/framelift-abort/bootstrap
for f in "$layer" "$bootstrap"; do
  [ -x "$f" ] || { echo "$f is missing: scripts/lambda.sh --debug framelift-abort makes it" >&2; exit 1; }
done
work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT

qemu "$layer" -hide_banner -loglevel error -nostdin -f lavfi -i testsrc2=size=320x180:rate=30 -f lavfi -i sine=frequency=440 \
  -t 1 -c:v libx264 -c:a aac -f mpegts "$work/one-second.ts"
report=$("$host_ffmpeg" -hide_banner -nostdin -i "$work/one-second.ts" -f null - 2>&1) || { echo "$report" >&2; exit 1; }
grep -q "Video: h264" <<<"$report" && grep -q "Audio: aac" <<<"$report" || { echo "the arm64 ffmpeg's output lacks a stream: $report" >&2; exit 1; }
echo "aarch64: the layer's ffmpeg encoded 1 s of H.264 and AAC ($(stat -c %s "$work/one-second.ts") bytes) under qemu"

lambda=$(dirname "$(scripts/python-tools.sh aws)")/cargo-lambda
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$lambda" lambda watch --only-lambda-apis -A 127.0.0.1 -P "$port" >"$work/emulator.log" 2>&1 &
pids+=($!)
for _ in $(seq 1 100); do (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.1; done
env -i PATH=/usr/bin:/bin AWS_LAMBDA_RUNTIME_API="http://127.0.0.1:$port/.rt" AWS_LAMBDA_FUNCTION_NAME=_ \
  AWS_LAMBDA_FUNCTION_VERSION=1 AWS_LAMBDA_FUNCTION_MEMORY_SIZE=256 AWS_REGION=us-east-1 \
  AWS_ACCESS_KEY_ID=placeholder AWS_SECRET_ACCESS_KEY=placeholder \
  FRAMELIFT_BUCKET=framelift-media-placeholder FRAMELIFT_TABLE=framelift-videos FRAMELIFT_OPENSEARCH_URL=http://127.0.0.1:9 \
  FRAMELIFT_AUTH_AUDIENCE=placeholder.apps.googleusercontent.com FRAMELIFT_SIGNING_SECRET="$(head -c 32 /dev/urandom | base64)" \
  qemu-aarch64-static -L "$root" "$bootstrap" >"$work/function.log" 2>&1 &
pids+=($!)
answer=$(timeout 60 "$lambda" lambda invoke -A 127.0.0.1 -P "$port" --data-file events/abort.delete-uploads-one.json _) || {
  cat "$work/emulator.log" "$work/function.log" >&2; exit 1; }
grep -q '"statusCode":401' <<<"$answer" || { echo "the arm64 abort function answered: $answer" >&2; cat "$work/function.log" >&2; exit 1; }
echo "aarch64: the abort function's bootstrap answered its sample event with 401 under qemu and cargo-lambda's runtime emulator"
