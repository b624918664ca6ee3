# Hearth boot script for the QEMU virt board (U-Boot's distro boot runs it from partition 1).
# The bootloader state is hearth.env on this FAT partition: hearth_slot=a|b picks the root slot
# (docs/image.md, "Root slots"); hearth_console=shell turns on the service console. Anything
# else in it is ignored.
setenv hearth_slot a
setenv hearth_console
if fatload virtio 0:1 ${kernel_addr_r} hearth.env; then
    env import -t ${kernel_addr_r} ${filesize} hearth_slot hearth_console
fi
if test "${hearth_slot}" = "b"; then
    setenv hearth_part 3
else
    setenv hearth_slot a
    setenv hearth_part 2
fi
echo "Hearth: booting root slot ${hearth_slot} (partition ${hearth_part})"
ext4load virtio 0:${hearth_part} ${kernel_addr_r} /boot/Image
setenv bootargs "console=ttyAMA0 root=/dev/vda${hearth_part} rootfstype=ext4 rootwait ro hearth.slot=${hearth_slot} panic=5 quiet"
# The service console (docs/image.md): a root shell on the serial console when the card asks.
if test "${hearth_console}" = "shell"; then
    setenv bootargs "${bootargs} hearth.console=shell"
fi
# Debian's kernel (qemu/build-image) needs the initramfs to load virtio and ext4; a buildroot
# kernel has them built in and the slot has no initrd.img.
if ext4load virtio 0:${hearth_part} ${ramdisk_addr_r} /boot/initrd.img; then
    booti ${kernel_addr_r} ${ramdisk_addr_r}:${filesize} ${fdtcontroladdr}
else
    booti ${kernel_addr_r} - ${fdtcontroladdr}
fi
