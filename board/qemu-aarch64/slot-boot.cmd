# A root slot's own boot script for the QEMU virt board (/boot/boot.scr in the slot), run by the
# selector on the FAT partition with hearth_slot, hearth_part and hearth_console set. It changes
# with the slot: an update brings its kernel, initramfs and command line together.
ext4load ${hearth_devtype} ${hearth_devnum}:${hearth_part} ${kernel_addr_r} /boot/Image
setenv bootargs "console=ttyAMA0 root=/dev/vda${hearth_part} rootfstype=ext4 rootwait ro hearth.slot=${hearth_slot} panic=5 quiet"
# The service console (docs/image.md): a root shell on the serial console when the card asks.
if test "${hearth_console}" = "shell"; then
    setenv bootargs "${bootargs} hearth.console=shell"
fi
# Debian's kernel (qemu/build-image) needs the initramfs to load virtio and ext4; a buildroot
# kernel has them built in and the slot has no initrd.img.
if ext4load ${hearth_devtype} ${hearth_devnum}:${hearth_part} ${ramdisk_addr_r} /boot/initrd.img; then
    booti ${kernel_addr_r} ${ramdisk_addr_r}:${filesize} ${fdtcontroladdr}
else
    booti ${kernel_addr_r} - ${fdtcontroladdr}
fi
