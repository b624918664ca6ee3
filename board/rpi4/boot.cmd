# Hearth boot script for the Raspberry Pi 4 (U-Boot rpi_arm64; the firmware passes its device
# tree at ${fdt_addr}). hearth.env on this FAT partition holds hearth_slot=a|b (docs/image.md).
setenv hearth_slot a
setenv hearth_console
if fatload mmc 0:1 ${kernel_addr_r} hearth.env; then
    env import -t ${kernel_addr_r} ${filesize} hearth_slot hearth_console
fi
if test "${hearth_slot}" = "b"; then
    setenv hearth_part 3
else
    setenv hearth_slot a
    setenv hearth_part 2
fi
echo "Hearth: booting root slot ${hearth_slot} (partition ${hearth_part})"
ext4load mmc 0:${hearth_part} ${kernel_addr_r} /boot/Image
setenv bootargs "console=ttyAMA0,115200 root=/dev/mmcblk0p${hearth_part} rootfstype=ext4 rootwait ro hearth.slot=${hearth_slot} panic=5 quiet"
# The service console (docs/image.md): a root shell on the serial console when the card asks.
if test "${hearth_console}" = "shell"; then
    setenv bootargs "${bootargs} hearth.console=shell"
fi
booti ${kernel_addr_r} - ${fdt_addr}
