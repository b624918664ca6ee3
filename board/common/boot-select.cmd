# The slot selector, after the board's lines (which set hearth_devtype and hearth_devnum, the card
# as U-Boot names it). qemu/build-image and buildroot's post-image step append this file to
# board/<name>/boot.cmd and make boot.scr on the FAT partition from both (docs/image.md, "Boot";
# the state files: docs/update-bundle.md, "Boot state").
#
# 1. hearth.env, the file a person may edit: hearth_slot (the slot a card without update state
#    boots) and hearth_console (the service console).
setenv hearth_slot a
setenv hearth_console
if fatload ${hearth_devtype} ${hearth_devnum}:1 ${kernel_addr_r} hearth.env; then
    env import -t ${kernel_addr_r} ${filesize} hearth_slot hearth_console
fi
# 2. The update state: two copies, written in turn, so that a power cut during a write leaves the
#    other whole. A copy counts when its first and last lines carry the same sequence number
#    (0, 1, 2, 0, ...); of two, the newer is the one a step ahead.
setenv hearth_s0
setenv hearth_s1
for n in 0 1; do
    setenv hearth_0seq
    setenv hearth_zseq
    if fatload ${hearth_devtype} ${hearth_devnum}:1 ${kernel_addr_r} hearth-state-${n}.env; then
        env import -t ${kernel_addr_r} ${filesize} hearth_0seq hearth_zseq
        if test -n "${hearth_0seq}" && test "${hearth_0seq}" = "${hearth_zseq}"; then
            setenv hearth_s${n} ${hearth_0seq}
        fi
    fi
done
setenv hearth_state
if test -n "${hearth_s0}" && test -n "${hearth_s1}"; then
    if test "${hearth_s0}${hearth_s1}" = "10" || test "${hearth_s0}${hearth_s1}" = "21" || test "${hearth_s0}${hearth_s1}" = "02"; then
        setenv hearth_state 0
    else
        setenv hearth_state 1
    fi
elif test -n "${hearth_s0}"; then
    setenv hearth_state 0
elif test -n "${hearth_s1}"; then
    setenv hearth_state 1
fi
# 3. A slot on trial is booted at most three times; the fourth boot goes back to the good slot and
#    says so in the state (hearth_rollback). Each try is written down before the slot boots.
if test -n "${hearth_state}"; then
    fatload ${hearth_devtype} ${hearth_devnum}:1 ${kernel_addr_r} hearth-state-${hearth_state}.env
    env import -t ${kernel_addr_r} ${filesize} hearth_0seq hearth_zseq hearth_good hearth_try hearth_tries hearth_rollback hearth_va hearth_vb
    setenv hearth_slot ${hearth_good}
    if test -n "${hearth_try}" && test "${hearth_try}" != "${hearth_good}"; then
        if test "${hearth_tries}" = "0" || test -z "${hearth_tries}"; then
            setenv hearth_tries 1
            setenv hearth_slot ${hearth_try}
        elif test "${hearth_tries}" = "1"; then
            setenv hearth_tries 2
            setenv hearth_slot ${hearth_try}
        elif test "${hearth_tries}" = "2"; then
            setenv hearth_tries 3
            setenv hearth_slot ${hearth_try}
        else
            echo "Hearth: root slot ${hearth_try} did not start in 3 tries; going back to slot ${hearth_good}"
            setenv hearth_rollback ${hearth_try}
            setenv hearth_try
            setenv hearth_tries
        fi
        if test "${hearth_0seq}" = "0"; then
            setenv hearth_0seq 1
        elif test "${hearth_0seq}" = "1"; then
            setenv hearth_0seq 2
        else
            setenv hearth_0seq 0
        fi
        setenv hearth_zseq ${hearth_0seq}
        if test "${hearth_state}" = "0"; then
            setenv hearth_state 1
        else
            setenv hearth_state 0
        fi
        env export -t ${kernel_addr_r} hearth_0seq hearth_good hearth_rollback hearth_tries hearth_try hearth_va hearth_vb hearth_zseq
        fatwrite ${hearth_devtype} ${hearth_devnum}:1 ${kernel_addr_r} hearth-state-${hearth_state}.env ${filesize}
    fi
fi
# 4. The slot's own boot script (kernel, device tree, initramfs, command line: they change with the
#    slot, so an update brings them along).
if test "${hearth_slot}" = "b"; then
    setenv hearth_part 3
else
    setenv hearth_slot a
    setenv hearth_part 2
fi
if test -n "${hearth_try}" && test "${hearth_slot}" = "${hearth_try}"; then
    echo "Hearth: booting root slot ${hearth_slot} (partition ${hearth_part}), on trial: try ${hearth_tries} of 3"
else
    echo "Hearth: booting root slot ${hearth_slot} (partition ${hearth_part})"
fi
if ext4load ${hearth_devtype} ${hearth_devnum}:${hearth_part} ${pxefile_addr_r} /boot/boot.scr; then
    source ${pxefile_addr_r}
fi
echo "Hearth: root slot ${hearth_slot} has no boot script it can run; restarting"
reset
