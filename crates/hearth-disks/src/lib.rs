//! The box's disks (docs/disks.md): what is plugged in, what it holds, how healthy it is.
//!
//! Module map:
//! - [`sysfs`]: the disks and partitions the kernel lists under `/sys/block`.
//! - [`file_system`]: what a partition holds, from its first bytes (kind, UUID, label), and a
//!   whole disk's partition table.
//! - [`mountinfo`]: `/proc/self/mountinfo`, what is mounted where.
//! - [`inventory`]: the three together, as the API and the web app show them.
//! - [`smart`]: a disk's health from `smartctl -j`.
//! - [`uevent`]: the kernel's messages when a disk comes or goes.
//! - [`service`]: the `disks` service keeping the inventory current for the API.
//! - [`data_home`]: where the family's data lives (the card or a disk), as the boot partition
//!   records it.
//! - [`data_disk`]: which disks may be given the data, and preparing one (GPT, file system).
//! - [`data_copy`]: copying the data to a new data disk, every file read back and compared.
//! - [`card_copy`]: freeing the card's old copy once the family says the move went well.
//! - [`pool`]: the data's btrfs pool: a second disk mirroring the first, a missing one
//!   replaced, scrubs.
//! - [`eject`]: unmounting a disk safely, or naming who holds it.
//! - [`request_file`]: what a request to the privileged helper is about, in a file beside it.

pub mod card_copy;
pub mod data_copy;
pub mod data_disk;
pub mod data_home;
pub mod eject;
pub mod file_system;
pub mod inventory;
pub mod mountinfo;
pub mod pool;
pub mod request_file;
pub mod service;
pub mod smart;
pub mod sysfs;
pub mod uevent;

pub use inventory::{Disk, Inventory};
