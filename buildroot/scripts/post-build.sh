#!/bin/sh
# Buildroot post-build (BR2_ROOTFS_POST_BUILD_SCRIPT): finish the root filesystem of one slot.
# $1 is TARGET_DIR; $2 the board folder name (board/<name>), from BR2_ROOTFS_POST_SCRIPT_ARGS.
set -eu
target=$1
board=$2
hearth=$(dirname "$0")/../..

# The release file the QEMU image has too (qemu/build-image).
cat > "$target/etc/hearth-release" <<REL
HEARTH_BOARD=$board
HEARTH_VERSION=$(grep -m1 '^version' "$hearth/Cargo.toml" | cut -d'"' -f2)
HEARTH_COMMIT=$(git -C "$hearth" describe --always --dirty 2>/dev/null || echo unknown)
HEARTH_BUILT=$(git -C "$hearth" log -1 --format=%ct 2>/dev/null || date +%s)
REL
# /data is the mount point of the data partition; the root is read-only (docs/image.md).
mkdir -p "$target/data" "$target/run"
# Buildroot's sysv skeleton brings rcS scripts of its own; Hearth's rcS does the whole boot.
rm -f "$target"/etc/init.d/S*
