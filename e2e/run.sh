#!/usr/bin/env bash
# npm run test:real [-- jest options]: builds (or reuses) the real tier's tools, then runs e2e/*.e2e.ts
# with them. Linux only, as root: the tests make a network namespace of their own (ip netns).
set -euo pipefail
cd "$(dirname "$0")/.."
started=$(date +%s)
built=$(bash e2e/build-tools.sh)
bin=${built#bin=}
echo "real tier: tools ready in $(($(date +%s) - started)) s" >&2
REAL_TIER_BIN=$bin exec npx --no-install jest -c e2e/jest.config.js "$@"
