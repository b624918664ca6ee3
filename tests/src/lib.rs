//! Helpers shared by the process-level tests in `tests/tests/`: building and starting `hearthd`,
//! a tiny HTTP client, free ports, and the tier rules read from `cargo metadata`.
//!
//! - [`avahi`]: a real avahi-daemon in a network namespace, and avahi-browse.
//! - [`board`]: the card image (`qemu/build-image`) and guests booted from it (`qemu/run`).
//! - [`daemon`]: build the binaries once, start `hearthd` on free ports against a temporary data
//!   folder, wait for health, stop it with a signal.
//! - [`data`]: deterministic test data.
//! - [`http`]: a minimal HTTP/1.1 client over `std::net` (tests must not share code paths with the
//!   server they test).
//! - [`poll`]: waiting, with a limit, for what another process does.
//! - [`qmp`]: QEMU's machine protocol, to plug disks into a running guest.
//! - [`servers`]: servers started as peers: rclone serve restic, moto's S3 server, static web
//!   servers (RangeHTTPServer, Python's http.server) as update channels.
//! - [`netns`]: two network namespaces on one virtual LAN.
//! - [`syncthing`]: a real Syncthing in a temporary home, configured offline, with its REST API.
//! - [`tiers`]: the crate tier rules of DESIGN.md, checked against `cargo metadata`.
//! - [`update_box`]: a folder standing in for a box's root slots, images and signed bundles.

pub mod avahi;
pub mod board;
pub mod daemon;
pub mod data;
pub mod http;
pub mod netns;
pub mod poll;
pub mod qmp;
pub mod servers;
pub mod syncthing;
pub mod tiers;
pub mod update_box;
