//! Updates that cannot brick the box (docs/updates.md; the formats: docs/update-bundle.md).
//!
//! Module map:
//! - [`version`]: system versions and their order.
//! - [`keys`]: ed25519 signing keys and the keys an image trusts.
//! - [`chunker`]: FastCDC cutting without a seed, so every box cuts the same bytes the same way.
//! - [`manifest`]: what a bundle carries, parsed raw then validated.
//! - [`bundle`]: the file: header, signature, payload; building one, reading one while streaming.
//! - [`slot`]: writing an image into a slot front to back, reading it back.
//! - [`boot_state`]: the two state copies on the FAT partition, shared with the slot selector.
//! - [`channel`]: an update channel's index and ranged downloads of only the missing chunks.
//! - [`install`]: an install from start to end: refuse, write, read back, put on trial.
//! - [`runner`]: one install at a time in the background, its record in a JSON file.
//! - [`health`]: the health gate a trial system passes before it commits itself.
//! - [`updates`]: the daemon's view: status, history, the channel, changes through a [`updates::Control`].
//! - [`layout`]: where the slots, the boot partition and the running system are on this box.

pub mod boot_state;
pub mod bundle;
pub mod channel;
pub mod chunker;
mod error;
pub mod health;
pub mod install;
pub mod keys;
pub mod layout;
pub mod manifest;
pub mod runner;
pub mod slot;
pub mod updates;
pub mod version;

pub use error::{OtaError, Result};
