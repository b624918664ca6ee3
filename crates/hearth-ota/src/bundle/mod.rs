//! The bundle file (docs/update-bundle.md §1): a 16-byte header, the manifest, a 72-byte
//! signature block, the payload. [`head`] reads and checks the first three (signature before
//! any JSON is parsed); [`payload`] turns stored chunks back into checked bytes; [`writer`]
//! builds and signs a bundle from an image.

pub mod head;
pub mod payload;
pub mod writer;

/// The first 8 bytes of every bundle.
pub const MAGIC: &[u8; 8] = b"HEARTHUP";
/// The header's length.
pub const HEADER_LEN: usize = 16;
/// The signature block's length (key id and ed25519 signature).
pub const SIGNATURE_LEN: usize = 72;
/// The longest manifest.
pub const MAX_MANIFEST: u32 = 8 << 20;
/// What the signature covers, before the header and the manifest.
pub const SIGNING_CONTEXT: &[u8] = b"hearth-update-bundle-v1\n";
