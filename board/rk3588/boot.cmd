# Hearth boot script for RK3588 boards (mainline U-Boot, e.g. rock5b-rk3588). The card is the
# device U-Boot booted from (${devtype} ${devnum}: mmc 1 for the ROCK 5B's SD slot);
# board/common/boot-select.cmd follows, then the chosen slot's /boot/boot.scr
# (board/rk3588/slot-boot.cmd) boots it.
setenv hearth_devtype ${devtype}
setenv hearth_devnum ${devnum}
