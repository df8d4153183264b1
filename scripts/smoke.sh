#!/usr/bin/env bash
# A smoke test of a deployed API: the reading routes answer with the contract's shapes, and a write without a token is
# refused. Usage: scripts/smoke.sh API_URL
set -euo pipefail
api=${1%/}
fail() { echo "smoke test failed: $*" >&2; exit 1; }
code=$(curl -s -o /tmp/smoke-list.json -w '%{http_code}' "$api/api/videos?limit=1")
[ "$code" = 200 ] || fail "GET /api/videos answered $code: $(cat /tmp/smoke-list.json)"
grep -q '"videos"' /tmp/smoke-list.json || fail "GET /api/videos has no videos field"
code=$(curl -s -o /tmp/smoke-search.json -w '%{http_code}' "$api/api/search?q=video")
[ "$code" = 200 ] || fail "GET /api/search answered $code: $(cat /tmp/smoke-search.json)"
code=$(curl -s -o /dev/null -w '%{http_code}' -X POST "$api/api/uploads" -d '{}')
[ "$code" = 401 ] || fail "POST /api/uploads without a token answered $code, not 401"
code=$(curl -s -o /dev/null -w '%{http_code}' "$api/api/videos?limit=0")
[ "$code" = 400 ] || fail "limit=0 answered $code, not 400"
code=$(curl -s -o /dev/null -w '%{http_code}' -X POST "$api/dev/token" -d '{"name":"x"}')
[ "$code" = 404 ] || fail "/dev/token is reachable on a deployment ($code)"
echo "smoke test passed: $api"
