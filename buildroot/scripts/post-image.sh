#!/bin/sh
# Buildroot post-image (BR2_ROOTFS_POST_IMAGE_SCRIPT): lay out the Hearth card with the board's
# own genimage.cfg, the same file qemu/build-image uses for the virtual board.
# $1 is BINARIES_DIR; $2 the board folder name (board/<name>), from BR2_ROOTFS_POST_SCRIPT_ARGS.
set -eu
binaries=$1
board=$2
hearth=$(cd "$(dirname "$0")/../.." && pwd)
files=$hearth/board/$board

# The slot selector: the board's lines, then the common selector (docs/update-bundle.md §6).
cat "$files/boot.cmd" "$hearth/board/common/boot-select.cmd" > "$binaries/boot.cmd"
mkimage -A arm64 -O linux -T script -C none -n "Hearth boot" -d "$binaries/boot.cmd" "$binaries/boot.scr"
printf 'hearth_slot=a\n' > "$binaries/hearth.env"
version=$(sed -n 's/^HEARTH_VERSION=//p' "$TARGET_DIR/etc/hearth-release")
printf '# Hearth boot state (docs/update-bundle.md, "Boot state")\nhearth_0seq=0\nhearth_good=a\nhearth_va=%s\nhearth_vb=%s\nhearth_zseq=0\n' \
	"$version" "$version" > "$binaries/hearth-state-0.env"
[ -f "$files/config.txt" ] && cp "$files/config.txt" "$binaries/config.txt"
# The Pi device trees come from the kernel build, in BINARIES_DIR already.

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
genimage --config "$files/genimage.cfg" --rootpath "$TARGET_DIR" --inputpath "$binaries" \
	--outputpath "$binaries" --tmppath "$tmp/genimage"
echo "Hearth card: $binaries/hearth-$board.img"
