# Hearth boot script for the QEMU virt board (U-Boot's distro boot runs boot.scr from partition 1).
# The card is virtio 0; board/common/boot-select.cmd follows (the slot, its tries), then the
# chosen slot's /boot/boot.scr (board/qemu-aarch64/slot-boot.cmd) boots it.
setenv hearth_devtype virtio
setenv hearth_devnum 0
