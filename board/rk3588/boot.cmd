# Hearth boot script for RK3588 boards (mainline U-Boot, e.g. rock5b-rk3588). The card is mmc 1
# in U-Boot (SD) and /dev/mmcblk1 in Linux on the ROCK 5B; eMMC boards change both. hearth.env
# on this FAT partition holds hearth_slot=a|b (docs/image.md).
setenv hearth_slot a
setenv hearth_console
if fatload ${devtype} ${devnum}:1 ${kernel_addr_r} hearth.env; then
    env import -t ${kernel_addr_r} ${filesize} hearth_slot hearth_console
fi
if test "${hearth_slot}" = "b"; then
    setenv hearth_part 3
else
    setenv hearth_slot a
    setenv hearth_part 2
fi
echo "Hearth: booting root slot ${hearth_slot} (partition ${hearth_part})"
ext4load ${devtype} ${devnum}:${hearth_part} ${kernel_addr_r} /boot/Image
ext4load ${devtype} ${devnum}:${hearth_part} ${fdt_addr_r} /boot/rk3588-rock-5b.dtb
setenv bootargs "console=ttyS2,1500000 root=/dev/mmcblk1p${hearth_part} rootfstype=ext4 rootwait ro hearth.slot=${hearth_slot} panic=5 quiet"
# The service console (docs/image.md): a root shell on the serial console when the card asks.
if test "${hearth_console}" = "shell"; then
    setenv bootargs "${bootargs} hearth.console=shell"
fi
booti ${kernel_addr_r} - ${fdt_addr_r}
