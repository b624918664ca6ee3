# A root slot's own boot script for the Raspberry Pi 5 (U-Boot rpi_arm64, 2024.04 or later) (/boot/boot.scr in the slot), run
# by the selector on the FAT partition with hearth_slot, hearth_part and hearth_console set. The
# kernel and command line come with the slot; the device tree is the one the Pi firmware loaded
# from the FAT partition and passes at ${fdt_addr} (it fills in memory and MAC addresses).
ext4load ${hearth_devtype} ${hearth_devnum}:${hearth_part} ${kernel_addr_r} /boot/Image
setenv bootargs "console=ttyAMA10,115200 root=/dev/mmcblk0p${hearth_part} rootfstype=ext4 rootwait ro hearth.slot=${hearth_slot} panic=5 quiet"
# The service console (docs/image.md): a root shell on the serial console when the card asks.
if test "${hearth_console}" = "shell"; then
    setenv bootargs "${bootargs} hearth.console=shell"
fi
booti ${kernel_addr_r} - ${fdt_addr}
