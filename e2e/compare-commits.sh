#!/usr/bin/env bash
# npm run bench:commits -- BEFORE AFTER [ROUNDS] [SUITE]: the real tier's figures of two commits on this
# machine in the same hour, for a before/after that only a whole run can show (a Pulumi upgrade, say).
# Each commit is checked out in a worktree of its own (under $TMPDIR), gets its own `npm ci` and its own
# tools (e2e/build-tools.sh of that commit, cached as usual), and runs its own SUITE
# (default e2e/lifecycle-cluster.e2e.ts) ROUNDS times (default 2), alternating BEFORE and AFTER so that a
# machine getting slower or faster over the hour weighs on both. Prints each run's `lifecycle figures` and
# `no-op samples` lines and, per commit, the median of every no-op sample it took. Linux, as root, like the
# real tier. Figures, not pass or fail: a suite that fails still prints what it measured.
set -euo pipefail
cd "$(dirname "$0")/.."
[ $# -ge 2 ] || { echo "usage: npm run bench:commits -- BEFORE AFTER [ROUNDS] [SUITE]" >&2; exit 2; }
before=$(git rev-parse --verify "$1^{commit}") || { echo "bench: '$1' is not a commit here" >&2; exit 2; }
after=$(git rev-parse --verify "$2^{commit}") || { echo "bench: '$2' is not a commit here" >&2; exit 2; }
rounds=${3:-2}
suite=${4:-e2e/lifecycle-cluster.e2e.ts}
[[ "$rounds" =~ ^[1-9][0-9]?$ ]] || { echo "bench: ROUNDS must be a whole number from 1 to 99, not '$rounds'" >&2; exit 2; }
[[ "$suite" =~ ^e2e/[A-Za-z0-9._-]+\.e2e\.ts$ ]] || { echo "bench: SUITE must be a file e2e/NAME.e2e.ts, not '$suite'" >&2; exit 2; }

work=$(mktemp -d "${TMPDIR:-/tmp}/imk-bench.XXXXXX")
cleanup() {
    for tree in "$work"/tree-*; do [ -d "$tree" ] && git worktree remove --force "$tree" >/dev/null 2>&1; done
    rm -rf "$work"
}
trap cleanup EXIT

declare -A bin
for commit in "$before" "$after"; do
    tree="$work/tree-${commit:0:12}"
    git worktree add --detach "$tree" "$commit" >/dev/null
    for file in "$suite" e2e/build-tools.sh; do
        [ -f "$tree/$file" ] || { echo "bench: commit ${commit:0:12} has no $file" >&2; exit 1; }
    done
    echo "bench: ${commit:0:12}: npm ci, then its tools" >&2
    (cd "$tree" && npm ci --no-audit --no-fund --silent >&2)
    built=$(bash "$tree/e2e/build-tools.sh")
    bin[$commit]=${built#bin=}
done

median() { # of the numbers on stdin
    sort -n | awk '{ v[NR] = $1 } END { if (NR == 0) print "-"; else if (NR % 2) print v[(NR + 1) / 2]; else printf "%.2f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

for ((round = 1; round <= rounds; round++)); do
    for commit in "$before" "$after"; do
        out="$work/run-$round-${commit:0:12}.log"
        echo "bench: round $round, ${commit:0:12} ($suite)" >&2
        (cd "$work/tree-${commit:0:12}" && REAL_TIER_BIN=${bin[$commit]} npx --no-install jest -c e2e/jest.config.js "$suite") >"$out" 2>&1 ||
            echo "bench: round $round, ${commit:0:12}: the suite failed (its figures are still printed)" >&2
        echo "round $round ${commit:0:12}:"
        grep -E '^(lifecycle figures|no-op samples) ' "$out" | sed 's/^/  /' || echo "  (no figures printed)"
    done
done
for commit in "$before" "$after"; do
    previews=$(cat "$work"/run-*-"${commit:0:12}".log | sed -n 's/^no-op samples ([^)]*): preview \([^;]*\);.*/\1/p' | tr ' ' '\n' | sed -n 's/s$//p' | median)
    ups=$(cat "$work"/run-*-"${commit:0:12}".log | sed -n 's/^no-op samples ([^)]*): .*; up \(.*\)$/\1/p' | tr ' ' '\n' | sed -n 's/s$//p' | median)
    echo "${commit:0:12} ($(git log -1 --format=%s "$commit" | cut -c1-60)): no-op preview median ${previews} s, no-op up median ${ups} s"
done
