#!/usr/bin/env bash
# Uploads the built web page and its runtime config.json to the stack's web bucket, then invalidates CloudFront.
# Usage: scripts/publish-web.sh STACK_NAME GOOGLE_CLIENT_ID
set -euo pipefail
stack=$1 client_id=$2
out() { aws cloudformation describe-stacks --stack-name "$stack" --query "Stacks[0].Outputs[?OutputKey=='$1'].OutputValue" --output text; }
api=$(out ApiUrl) bucket=$(out WebBucketName) distribution=$(out WebDistributionId)
scripts/web.sh
printf '{"apiBase": "%s", "googleClientId": "%s", "devSignIn": false}\n' "$api" "$client_id" > web/dist/config.json
aws s3 sync web/dist "s3://$bucket/" --delete --exclude '*.map' \
  --cache-control 'public, max-age=31536000, immutable' --exclude index.html --exclude config.json
aws s3 cp web/dist/index.html "s3://$bucket/index.html" --cache-control no-cache
aws s3 cp web/dist/config.json "s3://$bucket/config.json" --cache-control no-cache
aws cloudfront create-invalidation --distribution-id "$distribution" --paths /index.html /config.json >/dev/null
echo "web page published: $(out WebUrl)"
