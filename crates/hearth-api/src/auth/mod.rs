//! Who is asking, and may they?
//!
//! - [`basic`]: HTTP Basic credentials (restic, WebDAV apps): app passwords or the account's
//!   own, verified account passwords remembered a few minutes.
//! - [`password`]: argon2id hashing and verification (on the blocking pool).
//! - [`secret`]: random secrets for cookies, app passwords and setup codes; their SHA-256.
//! - [`throttle`]: failed-login counting per user and per address, with doubling waits.
//! - [`login_flow`]: Nextcloud's Login Flow v2, which hands an app password to an app once the
//!   family member grants it on the box's web page.
//! - [`caller`]: [`Caller`], resolved from a session cookie, a bearer app password or the local
//!   socket, and the layer that enforces each route's [`Access`].

pub mod basic;
pub mod caller;
pub mod login_flow;
pub mod password;
pub mod secret;
pub mod throttle;

pub use caller::{Access, Caller, Via};

/// The session cookie's name.
pub const SESSION_COOKIE: &str = "hearth_session";
/// The prefix of app passwords, so they are recognisable in a config file or a leak scanner.
pub const TOKEN_PREFIX: &str = "hth_";
