#!/usr/bin/env bash
# Removes the local copies of the injector and mesh config. Succeeds when they are already gone.
# Environment: INJECT_CONFIG_FILE, INJECT_VALUES_FILE, MESH_CONFIG_FILE.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
for name in INJECT_CONFIG_FILE INJECT_VALUES_FILE MESH_CONFIG_FILE; do
    need "$name"
done
rm -f "$INJECT_CONFIG_FILE" "$INJECT_VALUES_FILE" "$MESH_CONFIG_FILE"
