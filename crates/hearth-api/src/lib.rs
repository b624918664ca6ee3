//! The HTTP side of Hearth: the JSON API under `/api/v1`, the health endpoint, the web page, and
//! everything about who is asking.
//!
//! - [`server`]: [`server::ApiService`], the supervised service: plain HTTP and HTTPS listeners on
//!   the LAN, the owner-only unix socket the CLI uses, a semaphore bounding connections, graceful
//!   shutdown. [`server::run`] takes its listeners and a shutdown signal, so tests can drive it.
//! - [`routes`]: the route table. Every route declares its access (public, user, admin) in one
//!   table, and a layer enforces it, so a test can walk the table and prove nothing leaks.
//! - [`auth`]: passwords (argon2id), session cookies, app passwords / API tokens, login throttling,
//!   and the [`auth::Caller`] every protected handler receives.
//! - [`setup_code`]: the one-time code that guards claiming the box from outside the LAN.
//! - [`tls`]: the certificate generated on first start and the rustls (ring) configuration.
//! - [`state`]: [`state::AppState`], what handlers share.
//! - [`box_settings`]: the family's settings for the box (name, time zone, map tiles) as the
//!   running daemon sees them, watched by what depends on them.
//! - [`link_tokens`]: the tokens of share links made in the last hour, for the apps that read
//!   back the link they just made (the catalog keeps only hashes).
//! - [`live`]: the activity pushed to open pages (server-sent events), read once for all of them.
//! - [`full_disk`]: uploads and file writes refused before they start when the data disk is full.
//! - [`error`]: [`error::ApiError`], the JSON error body with its stable kind.
//! - [`trouble`]: the page served instead of the API when the box cannot start (no data
//!   partition, a damaged catalog): what is wrong and what to do.
//! - [`byte_range`]: the `Range` header, for streaming originals.
//! - [`content_disposition`]: originals saved under their own names.
//! - [`ocs`]: Nextcloud's OCS envelope (JSON or XML, versions 1 and 2) for the Nextcloud apps.
//! - [`qr`]: QR codes as SVG, for pairing phones and apps from the web app.
//! - [`client`]: a small HTTP client over the unix socket or TCP/TLS, for `hearth` (the CLI).

pub mod auth;
pub mod box_settings;
pub mod byte_range;
pub mod client;
pub mod content_disposition;
pub mod error;
pub mod full_disk;
pub mod link_tokens;
pub mod live;
pub mod ocs;
pub mod qr;
pub mod routes;
pub mod server;
pub mod setup_code;
pub mod state;
pub mod tls;
pub mod trouble;

pub use error::ApiError;
pub use state::AppState;
