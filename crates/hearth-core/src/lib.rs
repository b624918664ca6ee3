//! Hearth's tier-0 crate: what every other crate shares and nothing more.
//!
//! - [`error`]: the error kinds every crate maps its errors onto (what happened, whether a retry can
//!   help, what the user can do), and the rules for writing error messages.
//! - [`config`]: `hearth.toml` parsed raw, then validated into typed settings, with errors that name
//!   the key, the line and what is allowed.
//! - [`announce`]: the one registry of services announced on the LAN; the mDNS responder reads it.
//! - [`board`]: board profiles (`board/<name>/board.toml`): RAM budgets per service, worker
//!   concurrency, AES instructions, NPU; the embedded set of known boards.
//! - [`service`]: the [`service::Service`] trait the supervisor runs, service states and the shared
//!   status board the health endpoint reads.
//! - [`box_settings`]: what the family sets about the box from the web app (name, time zone, map
//!   tiles), as types that only hold valid values.
//! - [`calendar`]: dates from days since 1970 and back (UTC), without a time-zone library.
//! - [`disk_room`]: how full the data disk may get: warned from 90%, writes refused from 97%.
//! - [`hex`]: lower-case hexadecimal for checksums, ids and ETags.
//! - [`shutdown`]: a cloneable shutdown signal passed to every service, so tests can stop them.
//! - [`version`]: the build's version string.

pub mod announce;
pub mod board;
pub mod box_settings;
pub mod calendar;
pub mod config;
pub mod disk_room;
pub mod error;
pub mod hex;
pub mod service;
pub mod shutdown;
pub mod version;

pub use error::{ErrorKind, Kinded};
pub use shutdown::{Shutdown, ShutdownTrigger};
