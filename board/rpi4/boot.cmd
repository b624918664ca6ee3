# Hearth boot script for the Raspberry Pi 4 (U-Boot rpi_arm64). The card is mmc 0;
# board/common/boot-select.cmd follows (the slot, its tries), then the chosen slot's /boot/boot.scr
# (board/rpi4/slot-boot.cmd) boots it.
setenv hearth_devtype mmc
setenv hearth_devnum 0
