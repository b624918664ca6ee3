//! The family's files over WebDAV (RFC 4918, class 1 and 2), for Finder, Windows, rclone, DAVx5
//! and the Nextcloud apps (docs/files.md).
//!
//! - [`path`]: what a request path names inside a space, checked before any file is touched.
//! - [`xml_tree`]: request bodies read into a small tree, namespaces resolved, within limits and
//!   without entity expansion.
//! - [`request_body`]: PROPFIND, PROPPATCH and LOCK bodies as types.
//! - [`headers`]: `Depth`, `Overwrite`, `Timeout`, `Destination`, `If`, `If-Match`.
//! - [`locks`]: write locks, in memory, honoured by token.
//! - [`marks`]: folder ETags that change when anything beneath changes.
//! - [`tree`]: one space's files on disk: streaming uploads into place, copies, moves, removal,
//!   each safe against a crash and a second request.
//! - [`properties`]: live and dead properties and the 207 bodies.
//! - [`content_type`]: media types by extension.
//! - [`methods`]: [`Dav`], the methods over a [`Space`].
//! - [`chunked`]: Nextcloud's chunked uploads, assembled into a file.
//! - [`versions`], [`trash`]: what an overwrite replaced and what a DELETE removed, kept to be
//!   put back, and their expiry; [`history`]: listing and putting them back;
//!   [`nextcloud_history`]: the same at Nextcloud's `trashbin/` and `versions/` addresses.
//! - [`transfer`]: COPY and MOVE, within one space and between a member's files and a family folder.
//! - [`share_links`]: what a share link to files reads, and files dropped through one.
//! - [`archive`]: a folder as one zip archive, streamed (folder links, the Files page).
//!
//! Calendars and contacts (CalDAV, CardDAV; docs/calendars.md):
//!
//! - [`pim_path`]: their addresses, the box's and Nextcloud's, read into a target.
//! - [`calendar_object`], [`contact_object`]: what a PUT may store, checked by calcard.
//! - [`calendar_query`]: a calendar-query's filter, recurrences expanded against its range;
//!   [`contact_query`]: an addressbook-query's text filters.
//! - [`pim`]: the methods and reports over the catalog's calendars and address books.

pub mod archive;
pub mod calendar_object;
pub mod calendar_query;
pub mod chunked;
pub mod contact_object;
pub mod contact_query;
pub mod content_type;
pub mod headers;
pub mod history;
pub mod locks;
pub mod marks;
pub mod methods;
pub mod nextcloud_history;
pub mod path;
pub mod pim;
pub mod pim_path;
pub mod properties;
pub mod request_body;
pub mod share_links;
pub mod transfer;
pub mod trash;
pub mod tree;
pub mod versions;
pub mod xml_tree;

pub use methods::{Access, Dav, DavBody, DavError, DavResponse, History, Mount, Space, SpaceKind};
