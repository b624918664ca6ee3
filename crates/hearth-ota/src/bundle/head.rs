//! The start of a bundle: header, manifest, signature. Checked in that order, and the manifest's
//! JSON parsed only once its signature holds.

use std::io::Read;

use crate::bundle::{HEADER_LEN, MAGIC, MAX_MANIFEST, SIGNATURE_LEN, SIGNING_CONTEXT};
use crate::error::{OtaError, Result};
use crate::keys::{KeyId, PublicKey, TrustedKeys};
use crate::manifest::{FORMAT, Manifest};

/// A bundle's checked start.
#[derive(Debug, Clone)]
pub struct Head {
    /// The manifest, signed by a trusted key.
    pub manifest: Manifest,
    /// Who signed it.
    pub signed_by: PublicKey,
    /// Where the payload starts.
    pub payload_offset: u64,
}

impl Head {
    /// The whole bundle's length.
    pub fn bundle_len(&self) -> u64 {
        self.payload_offset + self.manifest.payload_len()
    }

    /// Where store entry `i` starts in the bundle.
    pub fn store_offsets(&self) -> Vec<u64> {
        let mut at = self.payload_offset;
        self.manifest
            .store
            .iter()
            .map(|s| {
                let here = at;
                at += u64::from(s.stored_size);
                here
            })
            .collect()
    }
}

/// The manifest's length from the header.
pub fn manifest_len(header: &[u8; HEADER_LEN]) -> Result<u32> {
    if &header[..8] != MAGIC {
        return Err(OtaError::NotABundle);
    }
    let format = u32::from_le_bytes([header[8], header[9], header[10], header[11]]);
    if format != FORMAT {
        return Err(OtaError::UnknownFormat(format));
    }
    let len = u32::from_le_bytes([header[12], header[13], header[14], header[15]]);
    if len == 0 || len > MAX_MANIFEST {
        return Err(OtaError::ManifestTooLarge(u64::from(len)));
    }
    Ok(len)
}

/// The message the signature covers.
pub fn signed_message(header: &[u8; HEADER_LEN], manifest: &[u8]) -> Vec<u8> {
    let mut msg = Vec::with_capacity(SIGNING_CONTEXT.len() + HEADER_LEN + manifest.len());
    msg.extend_from_slice(SIGNING_CONTEXT);
    msg.extend_from_slice(header);
    msg.extend_from_slice(manifest);
    msg
}

/// Check the signature block over the header and manifest, then parse the manifest.
pub fn verify(header: &[u8; HEADER_LEN], manifest: &[u8], signature: &[u8; SIGNATURE_LEN], keys: &TrustedKeys) -> Result<Head> {
    let mut id = [0u8; 8];
    id.copy_from_slice(&signature[..8]);
    let signed_by = keys.verify(KeyId(id), &signed_message(header, manifest), &signature[8..])?.clone();
    let manifest = Manifest::parse(manifest)?;
    Ok(Head { manifest, signed_by, payload_offset: (HEADER_LEN + manifest_len_usize(header) + SIGNATURE_LEN) as u64 })
}

fn manifest_len_usize(header: &[u8; HEADER_LEN]) -> usize {
    u32::from_le_bytes([header[12], header[13], header[14], header[15]]) as usize
}

/// Read and check a bundle's start from `r`, which is left at the payload.
pub fn read<R: Read>(r: &mut R, keys: &TrustedKeys) -> Result<Head> {
    let mut header = [0u8; HEADER_LEN];
    read_exact(r, &mut header, 0, HEADER_LEN as u64)?;
    let len = manifest_len(&header)?;
    let mut manifest = vec![0u8; len as usize];
    let so_far = HEADER_LEN as u64;
    let expected = so_far + u64::from(len) + SIGNATURE_LEN as u64;
    read_exact(r, &mut manifest, so_far, expected)?;
    let mut signature = [0u8; SIGNATURE_LEN];
    read_exact(r, &mut signature, so_far + u64::from(len), expected)?;
    verify(&header, &manifest, &signature, keys)
}

/// Read a bundle's start from `r` without checking its signature: for tools that only measure
/// a bundle (`hearth ota delta`), never for installing.
pub fn read_unverified<R: Read>(r: &mut R) -> Result<Head> {
    let mut header = [0u8; HEADER_LEN];
    read_exact(r, &mut header, 0, HEADER_LEN as u64)?;
    let len = manifest_len(&header)?;
    let mut manifest = vec![0u8; len as usize];
    read_exact(r, &mut manifest, HEADER_LEN as u64, HEADER_LEN as u64 + u64::from(len))?;
    let mut signature = [0u8; SIGNATURE_LEN];
    read_exact(r, &mut signature, HEADER_LEN as u64 + u64::from(len), (HEADER_LEN + SIGNATURE_LEN) as u64 + u64::from(len))?;
    let unsigned = PublicKey::from_bytes([0; 32], "not checked");
    Ok(Head {
        manifest: Manifest::parse(&manifest)?,
        signed_by: unsigned,
        payload_offset: (HEADER_LEN + len as usize + SIGNATURE_LEN) as u64,
    })
}

/// `read_exact`, with an early end said as [`OtaError::Truncated`] (`at`: bytes before this
/// read; `expected`: the length known so far).
pub(crate) fn read_exact<R: Read>(r: &mut R, buf: &mut [u8], at: u64, expected: u64) -> Result<()> {
    let mut got = 0;
    while got < buf.len() {
        match r.read(&mut buf[got..]) {
            Ok(0) => return Err(OtaError::Truncated { expected, got: at + got as u64 }),
            Ok(n) => got += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(OtaError::io("reading the update")(e)),
        }
    }
    Ok(())
}
