//! The seams between Hearth and the operating system. Everything that touches `/sys`, `/proc`,
//! `/dev` or raw syscalls lives here, so domain crates can be tested against fakes.
//!
//! - [`cgroup`]: cgroup v2 groups with memory/CPU/IO limits per service; detects when they are not
//!   available (a dev checkout, a cgroup v1 host) and says so once.
//! - [`watchdog`]: the hardware watchdog (`/dev/watchdog`), fed by the supervisor.
//! - [`board`]: which board this is (`/proc/device-tree/model`, `/proc/meminfo`).
//! - [`clock`]: wall and monotonic time behind a trait, with a fake for throttling tests.
//! - [`network`]: the machine's own networks, to tell LAN clients from the rest.
//! - [`durable`]: files written so that a crash or power cut leaves the old or the new content,
//!   never a torn one; free-space checks.
//! - [`memory`]: pinning the C allocator's mmap threshold so freed buffers go back to the kernel.
//! - [`process`]: signals to child processes (graceful stop before a kill); a worker's lifeline
//!   (it stops when its daemon is gone).
//! - [`child`]: running another program on outside input with time and address-space limits.
//! - [`sha256_lanes`]: SHA-256 of eight equal-length blocks at once, AVX2 chosen at run time.
//! - [`mbr`]: the boot card's MBR partition table, and growing its last partition.
//! - [`mounts`]: a filesystem made writable for a moment (the card's FAT partition).
//! - [`alternating_copies`]: a small record kept as two files written in turn (power-cut safe).
//! - [`block_device`]: sizes, partition names, BLKPG resize, and what a partition holds.
//! - [`power`]: power off and reboot through PID 1 (the image's busybox init).
//! - [`identity`]: becoming the `hearth` user with only the capabilities hearthd needs.
//! - [`privileged_helper`]: the closed set of requests the unprivileged daemon may ask root for.
//! - [`sntp`]: asking an NTP server how far this machine's clock is off (RFC 4330 client).
//! - [`timekeeping`]: setting the clock from the NTP servers DHCP named, and saving it.
//! - [`rknn`]: Rockchip's NPU runtime (`librknnrt.so`), loaded at run time where a board has it.
//! - [`uevent_socket`]: the kernel's uevents (a disk plugged in or pulled out), without udev.

pub mod alternating_copies;
pub mod block_device;
pub mod board;
pub mod cgroup;
pub mod child;
pub mod clock;
pub mod durable;
pub mod identity;
pub mod mbr;
pub mod memory;
pub mod mounts;
pub mod network;
pub mod power;
pub mod privileged_helper;
pub mod process;
pub mod rknn;
pub mod sha256_lanes;
pub mod sntp;
pub mod timekeeping;
pub mod uevent_socket;
pub mod watchdog;
