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
# The slot's own boot script (kernel, device tree, command line travel with the slot) and the
# keys updates must be signed with: HEARTH_UPDATE_KEYS (a folder of *.pub) for a release, else
# the development key (docs/update-bundle.md §5).
mkdir -p "$target/boot" "$target/usr/share/hearth/update-keys"
mkimage -A arm64 -O linux -T script -C none -n "Hearth slot" -d "$hearth/board/$board/slot-boot.cmd" "$target/boot/boot.scr"
cp "${HEARTH_UPDATE_KEYS:-$hearth/board/keys}"/*.pub "$target/usr/share/hearth/update-keys/"
# /data is the mount point of the data partition; the root is read-only (docs/image.md).
mkdir -p "$target/data" "$target/run"
# Buildroot's sysv skeleton brings rcS scripts of its own; Hearth's rcS does the whole boot.
rm -f "$target"/etc/init.d/S*
