//! The catalog: one SQLite database (`DATA/hearth.db`) holding everything Hearth knows about its
//! users, devices, folders and files. Content lives in files; the catalog is the index.
//!
//! - [`store`]: opening the database (WAL, foreign keys, busy timeout, full sync), refusing a
//!   corrupt or newer-than-known file, and running closures on the connection.
//! - [`migrations`]: the numbered schema migrations, applied at start, one transaction each.
//! - [`error`]: [`CatalogError`] and how SQLite's failures map onto Hearth's error kinds.
//! - Repositories, one per table family: [`users`], [`sessions`], [`tokens`], [`audit`],
//!   [`settings`], [`sync_peers`], [`sync_folders`], [`assets`] (the photo library and its timeline),
//!   [`jobs`] (the queue of work for worker processes), [`albums`] and [`sharing`] (partners,
//!   album members, share links: who may see an asset besides its owner), [`search`] (words,
//!   dates, places, cameras, people, tags; "on this day"), [`backups`] (backup targets, jobs and
//!   their runs), [`people`] (faces found in photos, the people they are grouped into), [`tags`]
//!   (words for the things and scenes in them), [`embeddings`] (pictures' vectors for free-text
//!   search with a provided model), [`dav_properties`] (what WebDAV clients set on files and
//!   folders), [`dav_files`] (the ids the Nextcloud clients know files by), [`dav_trash`] (what was
//!   deleted from them, to put back), [`family_folders`] (folders the family shares, and who may
//!   read or change each), [`pim`] (calendars and address books, their events, tasks and
//!   contacts, and tombstones for sync).

pub mod albums;
pub mod assets;
pub mod audit;
pub mod backups;
pub mod dav_files;
pub mod dav_properties;
pub mod dav_trash;
pub mod embeddings;
pub mod error;
pub mod family_folders;
#[cfg(test)]
mod fixtures;
pub mod jobs;
pub mod migrations;
pub mod people;
pub mod pim;
pub mod relocate;
pub mod search;
pub mod sessions;
pub mod settings;
pub mod sharing;
pub mod store;
pub mod sync_folders;
pub mod sync_peers;
pub mod tags;
pub mod tokens;
pub mod update_snapshots;
pub mod users;

pub use error::CatalogError;
pub use store::Catalog;
