//! mDNS / DNS-SD: how phones and laptops find the box as `hearth.local` without typing an address.
//!
//! - [`responder`]: the [`responder::MdnsService`] the supervisor runs. It owns the one mDNS
//!   responder of the process, picks the host name (`hearth`, or `hearth-XXXX` when another
//!   machine on the LAN already answers to it), registers every announcement in
//!   [`hearth_core::announce::Announcements`] and sends goodbyes on shutdown.

pub mod responder;

pub use responder::MdnsService;
