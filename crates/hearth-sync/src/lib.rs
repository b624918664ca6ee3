//! Hearth's side of Syncthing's Block Exchange Protocol (BEP v1): what a stock Syncthing device
//! needs to pair with the NAS. The wire schema comes first: `proto/bep.proto`.
//!
//! - [`error`]: [`SyncError`] and its error kinds.
//! - [`device_id`]: device ids as Syncthing computes and prints them (SHA-256 of the
//!   certificate, base32, Luhn check characters, dashes).
//! - [`identity`]: the NAS's certificate and key (ECDSA P-384, like Syncthing), made on first start.
//! - [`protocol`]: the messages ([`protocol::messages`]) and their framing, LZ4 and size limits
//!   ([`protocol::frame`]).
//! - [`connection`]: TLS 1.3 with both certificates and ALPN `bep/1.0`, and the Hello exchange.
//! - [`discovery`]: local discovery announcements (UDP 21027, Syncthing's format).
//! - [`service`]: hearthd's `sync` service (listener, dialler; unpaired devices become pending).
//! - [`engine`]: the folders and connected devices, scans, pulls, status and [`events`].
//! - [`session`]: one connected device: its messages, index exchange, answers to block requests.
//! - [`peer`]: a connected device as the puller sees it (requests and their answers).
//! - [`folder`]: a folder's settings, its index (persisted in the catalog) and peers' indexes.
//! - [`scan`]: a folder's files as BEP entries (Syncthing's block sizes, SHA-256 blocks).
//! - [`hashing`]: block hashes the faster way for this CPU, and the verifier of received blocks.
//! - [`puller`]: receiving what peers have that the NAS needs (fetch, verify, write, rename).
//! - [`ignore`]: `.stignore` patterns in Syncthing's syntax.
//! - [`vector`]: version vectors and how two versions relate.
//! - [`paths`]: peers' file names turned into paths inside a folder, or refused.
//! - [`versions`]: what a peer's change would delete or overwrite is kept in `.stversions`.

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
