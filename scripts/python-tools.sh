#!/usr/bin/env bash
# Makes a Python tools venv with pinned packages, once (again when its requirements change).
# Usage: scripts/python-tools.sh [test|aws]  (prints the venv's python on success)
#   test: moto, for the S3 and DynamoDB wire protocols; schemathesis, for the OpenAPI document (.tools/venv)
#   aws:  cfn-lint, check-jsonschema, cargo-lambda, zig (.tools/venv-aws)
#   sam:  aws-sam-cli (.tools/venv-sam)
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
kind=${1:-test}
case "$kind" in
  test) venv="$here/.tools/venv" ;;
  aws) venv="$here/.tools/venv-aws" ;;
  sam) venv="$here/.tools/venv-sam" ;;
  *) echo "unknown tool set '$kind' (test, aws or sam)" >&2; exit 2 ;;
esac
stamp="$venv/.framelift-requirements"
req="$here/scripts/requirements-$kind.txt"
if [ -x "$venv/bin/python" ] && [ -f "$stamp" ] && cmp -s "$req" "$stamp"; then
  echo "$venv/bin/python"
  exit 0
fi
echo "Installing the pinned Python tools of $(basename "$req") into ${venv#$here/}..." >&2
mkdir -p "$here/.tools"
if ! python3 -m venv "$venv" >&2 2>/dev/null; then
  # Debian's python3 keeps venv support in a package of its own.
  echo "python3 -m venv failed; installing python3-venv with apt-get" >&2
  rm -rf "$venv"
  (apt-get update -qq && apt-get install -y -qq python3-venv) >&2
  python3 -m venv "$venv" >&2
fi
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$req" >&2
cp "$req" "$stamp"
echo "$venv/bin/python"
