#!/usr/bin/env bash
# Builds and deploys the stack the same way from a laptop (`make deploy`) and from the deploy workflow: installs what
# it needs (the SAM CLI, cargo-lambda and zig from PyPI, the arm64 Rust target), builds every function and the ffmpeg
# layer, then `sam build` and `sam deploy`.
#
# The first deploy from a checkout without samconfig.toml is `sam deploy --guided` (it asks, and saves the answers in
# samconfig.toml); later ones, and every one with CI set, deploy without a question.
# Settings (each passed to the stack only when set; the template's default otherwise):
#   STACK_NAME (default framelift), AWS_REGION, GOOGLE_CLIENT_ID, ALLOWED_ORIGINS, MAX_UPLOAD_BYTES,
#   OPENSEARCH_ENDPOINT, OPENSEARCH_DOMAIN_NAME, TRANSCODE_MEMORY_MB, TRANSCODE_RESERVED_CONCURRENCY, ENCODE_CONCURRENCY,
#   MEDIA_CDN (default yes: media through CloudFront, signed with a key kept in Secrets Manager as
#   framelift/<stack>/media-signing-key, made on the first deploy; no: presigned S3 URLs)
# Usage: scripts/deploy.sh [--print]   (--print: show the sam commands it would run, and run nothing)
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"
print=no
[ "${1:-}" = "--print" ] && print=yes
stack=${STACK_NAME:-framelift}

# Parameters only when set: `Name=` with nothing after it is refused by sam deploy.
overrides=()
add() { [ -n "${2:-}" ] && overrides+=("$1=$2") || true; }
add GoogleClientId "${GOOGLE_CLIENT_ID:-}"
add AllowedOrigins "${ALLOWED_ORIGINS:-}"
add MaxUploadBytes "${MAX_UPLOAD_BYTES:-}"
add ExistingOpenSearchEndpoint "${OPENSEARCH_ENDPOINT:-}"
add ExistingOpenSearchDomainName "${OPENSEARCH_DOMAIN_NAME:-}"
add TranscodeMemoryMB "${TRANSCODE_MEMORY_MB:-}"
add TranscodeReservedConcurrency "${TRANSCODE_RESERVED_CONCURRENCY:-}"
add EncodeConcurrency "${ENCODE_CONCURRENCY:-}"

# SAM's Rust builds are a preview feature: opted into here, so sam never stops to ask.
build=(build --template template.yaml --beta-features)

if [ $print = no ]; then
  scripts/check-rust.sh
  sam_py=$(scripts/python-tools.sh sam)
  aws_py=$(scripts/python-tools.sh aws)
  # sam build runs `cargo lambda` (and zig) from the PATH.
  export PATH="$(dirname "$aws_py"):$(dirname "$sam_py"):$PATH"
  export SAM_CLI_TELEMETRY=0 SAM_CLI_BETA_RUST_CARGO_LAMBDA=1
fi

# Media through CloudFront: the private key stays in Secrets Manager (made on the first deploy); only its public half
# reaches the template.
if [ "${MEDIA_CDN:-yes}" = yes ]; then
  media_secret="framelift/$stack/media-signing-key"
  if [ $print = yes ]; then
    public_key="<the public half of $media_secret>"
  else
    public_key=$("$sam_py" scripts/media-key.py "$media_secret")
  fi
  add MediaKeySecretName "$media_secret"
  add MediaPublicKey "$public_key"
fi

deploy=(deploy --stack-name "$stack" --capabilities CAPABILITY_IAM --resolve-s3)
[ -n "${AWS_REGION:-}" ] && deploy+=(--region "$AWS_REGION")
[ ${#overrides[@]} -gt 0 ] && deploy+=(--parameter-overrides "${overrides[@]}")
if [ -z "${CI:-}" ] && [ ! -f samconfig.toml ]; then
  deploy+=(--guided)
else
  deploy+=(--no-confirm-changeset --no-fail-on-empty-changeset)
fi

if [ $print = yes ]; then
  printf 'sam'; printf ' %q' "${build[@]}"; echo
  printf 'sam'; printf ' %q' "${deploy[@]}"; echo
  exit 0
fi
scripts/lambda.sh
sam "${build[@]}"
sam "${deploy[@]}"
