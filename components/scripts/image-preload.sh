#!/usr/bin/env bash
# Puts one image into the minikube profile. The image's archive (docker save, xz-compressed) is kept in
# IMAGE_ARCHIVE_DIR for offline reuse: when it is there, nothing is pulled.
# Environment: PRELOAD_IMAGE (canonical reference), IMAGE_ARCHIVE_DIR, IMAGE_ARCHIVE_FILE (a bare file name),
#              MINIKUBE_PROFILE.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
for name in PRELOAD_IMAGE IMAGE_ARCHIVE_DIR IMAGE_ARCHIVE_FILE MINIKUBE_PROFILE; do
    need "$name"
done
case "$IMAGE_ARCHIVE_FILE" in
    */* | .* | *..*) die "IMAGE_ARCHIVE_FILE must be a bare file name, not '$IMAGE_ARCHIVE_FILE'" ;;
esac
image=$PRELOAD_IMAGE
archive="$IMAGE_ARCHIVE_DIR/$IMAGE_ARCHIVE_FILE"

mkdir -p "$IMAGE_ARCHIVE_DIR"
tmp=$(mktemp -d "$IMAGE_ARCHIVE_DIR/.preload.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

if [ -f "$archive" ]; then
    log "Reusing $archive"
else
    log "Pulling $image"
    docker pull "$image" >&2
    # One thread: every image is compressed by its own load, all side by side, and xz -T0 would start a
    # thread per core in each of them (with its own buffers): nine at once can exhaust a laptop's memory.
    docker save "$image" | xz -T1 -c >"$tmp/image.tar.xz"
    mv "$tmp/image.tar.xz" "$archive"
    log "Saved $archive"
fi

# minikube hands a plain tar to the node's runtime and does no decompression of its own
# (minikube v1.38.1 pkg/minikube/machine/cache_images.go; cruntime LoadImage). It copies the file to
# /var/lib/minikube/images/<file name> on the node, and the loads run side by side: each tar needs a
# name of its own there.
plain="$tmp/${IMAGE_ARCHIVE_FILE%.xz}"
xz -dc "$archive" >"$plain"
minikube image load --profile="$MINIKUBE_PROFILE" "$plain" >&2

# `image load` exits 0 even when nothing was loaded (DoLoadImages: "not considered a failure"), so look.
# The runtime may list the image fully qualified or in Docker's short form.
familiar=${image#docker.io/}
case "$familiar" in
    library/*/*) ;; # Docker drops "library/" only when nothing is nested under it (familiarImage in images.ts)
    library/*) familiar=${familiar#library/} ;;
esac
# The list is read whole before grep: piped into grep -q, which stops at the first match, a long list
# would kill minikube with SIGPIPE and pipefail would turn a found image into a failure.
listed=$(minikube image ls --profile="$MINIKUBE_PROFILE" --format=short) ||
    die "'minikube image ls -p $MINIKUBE_PROFILE' failed after loading $archive"
if ! grep -Fxq -e "$image" -e "$familiar" <<<"$listed"; then
    die "$image is not in minikube profile '$MINIKUBE_PROFILE' after loading $archive; check 'minikube image ls -p $MINIKUBE_PROFILE'"
fi
log "Loaded $image into minikube profile '$MINIKUBE_PROFILE'."
