# A root slot's own boot script for RK3588 boards (/boot/boot.scr in the slot), run by the
# selector with hearth_slot, hearth_part and hearth_console set. Kernel, device tree and command
# line all come with the slot. The card is /dev/mmcblk1 in Linux on the ROCK 5B; eMMC boards
# change it.
ext4load ${hearth_devtype} ${hearth_devnum}:${hearth_part} ${kernel_addr_r} /boot/Image
ext4load ${hearth_devtype} ${hearth_devnum}:${hearth_part} ${fdt_addr_r} /boot/rk3588-rock-5b.dtb
setenv bootargs "console=ttyS2,1500000 root=/dev/mmcblk1p${hearth_part} rootfstype=ext4 rootwait ro hearth.slot=${hearth_slot} panic=5 quiet"
# The service console (docs/image.md): a root shell on the serial console when the card asks.
if test "${hearth_console}" = "shell"; then
    setenv bootargs "${bootargs} hearth.console=shell"
fi
booti ${kernel_addr_r} - ${fdt_addr_r}
