//! Hearth's side of Syncthing's Block Exchange Protocol (BEP v1): what a stock Syncthing device
//! needs to pair with the NAS. The wire schema comes first: `proto/bep.proto`.
//!
//! - [`error`]: [`SyncError`] and its error kinds.
//! - [`device_id`]: device ids as Syncthing computes and prints them (SHA-256 of the
//!   certificate, base32, Luhn check characters, dashes).
//! - [`discovery`]: local discovery announcements (UDP 21027, Syncthing's format).
//! - [`identity`]: the NAS's certificate and key (ECDSA P-384, like Syncthing), made on first start.
//! - [`protocol`]: the messages ([`protocol::messages`]) and their framing, LZ4 and size limits
//!   ([`protocol::frame`]).
//! - [`paths`]: peers' file names turned into paths inside a folder, or refused.
//! - [`receive`]: receiving a folder from a peer (pull, verify, write, announce, events).
//! - [`scan`]: a folder's files as BEP entries (Syncthing's block sizes, SHA-256 blocks).
//! - [`send`]: sending a folder to a peer (offer an index, answer block requests).
//! - [`versions`]: what a peer's change would delete or overwrite is kept in `.stversions`.
//! - [`service`]: hearthd's `sync` service (listener; unpaired devices become pending).
//! - [`connection`]: TLS 1.3 with both certificates and ALPN `bep/1.0`, and the Hello exchange.

pub mod connection;
pub mod device_id;
pub mod discovery;
pub mod engine;
pub mod error;
pub mod events;
pub mod folder;
pub mod hashing;
pub mod identity;
pub mod ignore;
pub mod paths;
pub mod peer;
pub mod protocol;
pub mod puller;
pub mod scan;
pub mod service;
pub mod session;
pub mod vector;
pub mod versions;

pub use device_id::DeviceId;
pub use error::SyncError;
