#!/usr/bin/env bash
# npm run test:real [-- jest options]: builds (or reuses) the real tier's tools, runs the Go tests of our
# stand-ins (the nodejs language host, the command provider and bookinfo's sample apps, e2e/tools/*) and of
# the tier's kubelet, then
# e2e/*.e2e.ts with them. Linux only, as root: the tests make network namespaces of their own (ip netns).
# REAL_TIER_GO_REPORT, when set, is where the Go tests' `go test -json` report goes (CI sums it).
set -euo pipefail
cd "$(dirname "$0")/.."
started=$(date +%s)
# What the harness runs besides the tools it builds (.ci/run installs them): without socat, say, the engine's
# events would silently not reach the tests.
missing=()
# kube-proxy runs nft, istio-init runs iptables-nft, the tier's kubelet nsenter, setpriv and sysctl.
for tool in go node ip socat python3 openssl curl nft iptables-nft nsenter setpriv sysctl; do command -v "$tool" >/dev/null 2>&1 || missing+=("$tool"); done
if [ "${#missing[@]}" -gt 0 ]; then
    echo "real tier: missing on PATH: ${missing[*]} (Debian: apt-get install iproute2 socat python3 openssl curl nftables iptables util-linux procps)" >&2
    exit 1
fi
built=$(bash e2e/build-tools.sh)
bin=${built#bin=}
echo "real tier: tools ready in $(($(date +%s) - started)) s" >&2

# The stand-ins' own tests; the language host's end-to-end test runs the real CLI on a small program, the
# sample apps' run on httptest servers alone.
go_report=${REAL_TIER_GO_REPORT:-$(mktemp)}
go_status=0
for module in command-provider language-host sample-app kubelet; do
    (cd "e2e/tools/$module" &&
        GOTOOLCHAIN=local GOFLAGS="-mod=readonly -buildvcs=false" CGO_ENABLED=0 \
            PULUMI_CLI="$bin/pulumi" NODE_MODULES="$PWD/../../../node_modules" \
            go test -json -count=1 -timeout 20m ./...) >>"$go_report" || go_status=$?
done
[ "$go_status" -eq 0 ] || echo "real tier: a Go test of the stand-ins failed (report: $go_report)" >&2

# The suites. Asked for by name (npm run test:real -- e2e/pods.e2e.ts), as asked, one at a time. All of
# them, in two runs: e2e/lifecycle-cluster.e2e.ts alone, since its probes count every pod refused and every
# request failed during a rotation and its figures are the tier's reference; then the others two at a time
# (they assert outcomes, each on a cluster of its own; what they time is printed, not asserted).
# REAL_TIER_JEST_REPORTS, when set, is a folder for the two runs' jest reports (alone.json, together.json).
jest_status=0
real_jest() {
    REAL_TIER_BIN=$bin npx --no-install jest -c e2e/jest.config.js "$@" || jest_status=$?
}
if [ $# -gt 0 ]; then
    real_jest "$@"
else
    alone=() together=()
    if [ -n "${REAL_TIER_JEST_REPORTS:-}" ]; then
        mkdir -p "$REAL_TIER_JEST_REPORTS"
        alone=(--json "--outputFile=$REAL_TIER_JEST_REPORTS/alone.json")
        together=(--json "--outputFile=$REAL_TIER_JEST_REPORTS/together.json")
    fi
    real_jest "${alone[@]}" e2e/lifecycle-cluster.e2e.ts
    real_jest "${together[@]}" --maxWorkers=2 --testPathIgnorePatterns=lifecycle-cluster
fi
echo "real tier: done in $(($(date +%s) - started)) s" >&2
[ "$go_status" -eq 0 ] && [ "$jest_status" -eq 0 ]
