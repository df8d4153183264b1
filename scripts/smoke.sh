#!/usr/bin/env bash
# A smoke test of a deployed API. Always: the reading routes answer with the contract's shapes, a write without a token
# is refused, the dev routes are absent. With a sign-in token (FRAMELIFT_TOKEN: a Google ID token for the stack's client
# id, as the web page's sign-in gets one): a real clip is uploaded with the CLI, becomes ready, is found by search,
# plays (ffmpeg decodes the signed HLS to the end), and is deleted.
# Usage: [FRAMELIFT_TOKEN=...] scripts/smoke.sh API_URL
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
api=${1%/}
fail() { echo "smoke test failed: $*" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
code=$(curl -s -o "$tmp/list.json" -w '%{http_code}' "$api/api/videos?limit=1")
[ "$code" = 200 ] || fail "GET /api/videos answered $code: $(cat "$tmp/list.json")"
grep -q '"videos"' "$tmp/list.json" || fail "GET /api/videos has no videos field"
code=$(curl -s -o "$tmp/search.json" -w '%{http_code}' "$api/api/search?q=video")
[ "$code" = 200 ] || fail "GET /api/search answered $code: $(cat "$tmp/search.json")"
code=$(curl -s -o /dev/null -w '%{http_code}' -X POST "$api/api/uploads" -d '{}')
[ "$code" = 401 ] || fail "POST /api/uploads without a token answered $code, not 401"
code=$(curl -s -o /dev/null -w '%{http_code}' "$api/api/videos?limit=0")
[ "$code" = 400 ] || fail "limit=0 answered $code, not 400"
code=$(curl -s -o /dev/null -w '%{http_code}' -X POST "$api/dev/token" -d '{"name":"x"}')
[ "$code" = 404 ] || fail "/dev/token is reachable on a deployment ($code)"

if [ -z "${FRAMELIFT_TOKEN:-}" ]; then
  echo "smoke test passed (reading routes only: set FRAMELIFT_TOKEN to upload, search and play a clip): $api"
  exit 0
fi
cli=${FRAMELIFT_CLI:-$here/target/debug/framelift}
[ -x "$cli" ] || (cd "$here" && cargo build -q -p framelift-cli)
clip="$("$here/scripts/fetch-real-media.sh")/bikes-640x272.mp4"
ffmpeg="$("$here/scripts/fetch-ffmpeg.sh")/ffmpeg"
word="smoke$(date -u +%Y%m%d%H%M%S)"
export FRAMELIFT_API="$api" XDG_CONFIG_HOME="$tmp/config"
started=$(date +%s)
id=$("$cli" upload "$clip" --title "Bikes $word" --wait 2>"$tmp/upload.log") || fail "upload: $(cat "$tmp/upload.log")"
ready=$(( $(date +%s) - started ))
"$cli" --json search "$word" >"$tmp/found.json" || fail "search failed"
jq -e --arg id "$id" 'any(.videos[]; .id == $id)' "$tmp/found.json" >/dev/null || fail "search for $word did not find $id: $(cat "$tmp/found.json")"
hls=$("$cli" watch "$id") || fail "watch $id failed"
"$ffmpeg" -v error -i "$hls" -map 0:v:0 -f null - 2>"$tmp/play.log" || fail "ffmpeg could not play $hls: $(cat "$tmp/play.log")"
"$cli" delete "$id" 2>/dev/null || fail "delete $id failed"
code=$(curl -s -o /dev/null -w '%{http_code}' "$api/api/videos/$id")
[ "$code" = 404 ] || fail "the deleted video still answers $code"
echo "smoke test passed: $api (a real clip uploaded, ready in ${ready} s, found, played and deleted)"
