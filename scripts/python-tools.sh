#!/usr/bin/env bash
# Makes the project's Python tools venv (.tools/venv) with the pinned packages the tests need, once.
# Usage: scripts/python-tools.sh  (prints the venv's python on success)
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
venv="$here/.tools/venv"
stamp="$venv/.framelift-requirements"
req="$here/scripts/requirements-test.txt"
if [ -x "$venv/bin/python" ] && [ -f "$stamp" ] && cmp -s "$req" "$stamp"; then
  echo "$venv/bin/python"
  exit 0
fi
echo "Installing the Python test tools into .tools/venv (moto for the S3 and DynamoDB wire protocols)..." >&2
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
