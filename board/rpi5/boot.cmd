# Hearth boot script for the Raspberry Pi 5 (U-Boot rpi_arm64, 2024.04 or later). The card is mmc 0;
# board/common/boot-select.cmd follows (the slot, its tries), then the chosen slot's /boot/boot.scr
# (board/rpi5/slot-boot.cmd) boots it.
setenv hearth_devtype mmc
setenv hearth_devnum 0
