#!/usr/bin/env bash
# Makes one Istio release available, unpacked, in a cache folder, and prints that folder on stdout.
# The archive comes from ISTIO_RELEASE_URL, or from ISTIO_RELEASE_ARCHIVE (a file already on disk, for
# machines without internet). Either way it must match its published sha256: the `<archive>.sha256` file
# (ISTIO_RELEASE_URL.sha256, or ISTIO_RELEASE_ARCHIVE.sha256 beside the file). Its content is
# "<hex> <file name>" with ONE space (istio/release-builder pkg/util/files.go CreateSha), so we read the
# first field instead of using `sha256sum -c`.
# A second run with the folder in place does nothing. A failure leaves no partial folder behind.
# Runs that want the same release at once (two stacks' `pulumi up`) take turns: one unpacks, the others
# wait and then find it complete, so no run ever removes a folder another one made.
# Environment: ISTIO_VERSION, ISTIO_CACHE_DIR, and ISTIO_RELEASE_URL or ISTIO_RELEASE_ARCHIVE;
# ISTIO_RELEASE_LOCK_WAIT, seconds to wait for another run (default 900).
set -euo pipefail
. "$(dirname "$0")/lib.sh"
need ISTIO_VERSION
need ISTIO_CACHE_DIR
version=$ISTIO_VERSION
release_dir="$ISTIO_CACHE_DIR/istio-$version"
marker="$release_dir/.istio-minikube-complete"

if [ -f "$marker" ]; then
    log "Istio $version is already unpacked in $release_dir."
    printf '%s\n' "$release_dir"
    exit 0
fi

mkdir -p "$ISTIO_CACHE_DIR"
# The lock is a folder: mkdir is atomic, and macOS has no flock(1). It holds the owner's pid, so a lock
# left by a run that was killed is noticed and taken over instead of blocking every later run. Only one
# waiter at a time may take over (a second lock folder), and it looks at the pid again once it may: two
# waiters that both saw the dead owner cannot remove the lock the first of them has just taken.
lock="$ISTIO_CACHE_DIR/.istio-$version.lock"
takeover="$lock.takeover"
lock_wait=${ISTIO_RELEASE_LOCK_WAIT:-900}
[[ "$lock_wait" =~ ^[0-9]+$ ]] || die "ISTIO_RELEASE_LOCK_WAIT must be a number of seconds, not '$lock_wait'"
# owner_ended: the lock holds the pid of a process that no longer runs (an empty pid: just taken, not yet written).
owner_ended() {
    owner=$(cat "$lock/pid" 2>/dev/null) || owner=""
    [[ "$owner" =~ ^[0-9]+$ ]] && ! kill -0 "$owner" 2>/dev/null
}
waited=0
until mkdir "$lock" 2>/dev/null; do
    if owner_ended && mkdir "$takeover" 2>/dev/null; then
        # Interrupted here, this run must not leave the takeover folder behind for every later run.
        trap 'rmdir "$takeover" 2>/dev/null || true' EXIT
        if owner_ended; then
            log "Taking over the lock of a run that ended while unpacking Istio $version (pid $owner)."
            rm -rf "$lock"
        fi
        rmdir "$takeover"
        trap - EXIT
        continue
    fi
    [ "$waited" -eq 0 ] && log "Another run is unpacking Istio $version${owner:+ (pid $owner)}; waiting for it."
    [ "$waited" -ge "$lock_wait" ] &&
        die "waited ${waited}s for another run to unpack Istio $version; if no other 'pulumi up' is running, remove $lock (and $takeover, if it is there) and try again"
    sleep 1
    waited=$((waited + 1))
done
trap 'rm -rf "$lock"' EXIT
printf '%s\n' "$$" >"$lock/pid"

if [ -f "$marker" ]; then
    log "Istio $version was unpacked in $release_dir by another run."
    printf '%s\n' "$release_dir"
    exit 0
fi

work=$(mktemp -d "$ISTIO_CACHE_DIR/.istio-$version.partial.XXXXXX")
trap 'rm -rf "$work" "$lock"' EXIT

if [ -n "${ISTIO_RELEASE_ARCHIVE:-}" ]; then
    archive=$ISTIO_RELEASE_ARCHIVE
    [ -f "$archive" ] || die "istio.releaseArchive: no such file: $archive"
    [ -f "$archive.sha256" ] || die "istio.releaseArchive: the checksum file $archive.sha256 is missing; download it with the archive (same URL plus .sha256)"
    cp "$archive.sha256" "$work/archive.sha256"
else
    need ISTIO_RELEASE_URL
    archive="$work/archive.tar.gz"
    log "Downloading $ISTIO_RELEASE_URL"
    curl --fail --silent --show-error --location --retry 3 --output "$archive" "$ISTIO_RELEASE_URL" ||
        die "could not download $ISTIO_RELEASE_URL (no internet? set istio.releaseArchive to a local copy)"
    curl --fail --silent --show-error --location --retry 3 --output "$work/archive.sha256" "$ISTIO_RELEASE_URL.sha256" ||
        die "could not download the checksum $ISTIO_RELEASE_URL.sha256"
fi

expected=$(awk 'NR == 1 { print tolower($1) }' "$work/archive.sha256")
[[ "$expected" =~ ^[0-9a-f]{64}$ ]] || die "the checksum file for Istio $version does not start with a sha256 (got '$expected')"
# sha256sum on Linux; macOS has shasum.
if command -v sha256sum >/dev/null 2>&1; then
    actual=$(sha256sum "$archive" | awk '{ print $1 }')
else
    actual=$(shasum -a 256 "$archive" | awk '{ print $1 }')
fi
if [ "$actual" != "$expected" ]; then
    die "checksum mismatch for Istio $version: expected $expected, got $actual; the archive is damaged or not the published one"
fi

mkdir "$work/unpacked"
tar -xzf "$archive" -C "$work/unpacked"
[ -d "$work/unpacked/istio-$version" ] || die "the archive has no istio-$version/ folder; is it the $version release?"
for needed in bin/istioctl manifests/charts/base manifests/charts/istio-control/istio-discovery samples; do
    [ -e "$work/unpacked/istio-$version/$needed" ] || die "the archive has no istio-$version/$needed"
done
printf '%s\n' "$actual" >"$work/unpacked/istio-$version/.istio-minikube-complete"

# A leftover from an interrupted earlier run (no marker) is replaced; no other run is writing it (the lock).
rm -rf "$release_dir"
mv "$work/unpacked/istio-$version" "$release_dir"
log "Istio $version unpacked in $release_dir."
printf '%s\n' "$release_dir"
