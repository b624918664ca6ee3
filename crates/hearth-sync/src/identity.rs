//! The NAS's sync identity: a certificate and key made on first start and kept in
//! `DATA/sync/cert.pem` and `DATA/sync/key.pem` (owner-only). Like Syncthing's: ECDSA P-384,
//! self-signed, common name `syncthing` (peers may check `cert_name`). The device id is the
//! SHA-256 of the certificate, so the pair must never change once peers know the id.

use std::path::Path;
use std::sync::Arc;

use rustls::pki_types::{CertificateDer, PrivateKeyDer};

use crate::device_id::DeviceId;
use crate::error::{Result, SyncError};

/// A certificate, its key and the device id they make.
#[derive(Debug)]
pub struct Identity {
    /// The certificate (DER).
    pub cert: CertificateDer<'static>,
    key: PrivateKeyDer<'static>,
    /// Its device id.
    pub device_id: DeviceId,
}

impl Clone for Identity {
    fn clone(&self) -> Self {
        Identity { cert: self.cert.clone(), key: self.key.clone_key(), device_id: self.device_id }
    }
}

impl Identity {
    /// A fresh identity (not stored).
    pub fn generate() -> Result<Identity> {
        let (cert_pem, key_pem) = make_pair()?;
        Self::from_pem(cert_pem.as_bytes(), key_pem.as_bytes(), "generated")
    }

    /// Load `dir/cert.pem` and `dir/key.pem`, making them first when both are missing. One
    /// without the other is an error: making a new pair would change the device id silently.
    pub fn load_or_create(dir: &Path) -> Result<Identity> {
        let (cert_path, key_path) = (dir.join("cert.pem"), dir.join("key.pem"));
        let err = |p: &Path, detail: String| SyncError::Identity { path: p.display().to_string(), detail };
        match (cert_path.exists(), key_path.exists()) {
            (false, false) => {
                hearth_platform::durable::ensure_writable_dir(dir, 0o700).map_err(|e| err(dir, e.to_string()))?;
                let (cert_pem, key_pem) = make_pair()?;
                // The key first: a crash between the writes leaves a key without a certificate,
                // which the next start reports instead of pairing a new certificate with it.
                hearth_platform::durable::write_atomic(&key_path, key_pem.as_bytes(), 0o600).map_err(|e| err(&key_path, e.to_string()))?;
                hearth_platform::durable::write_atomic(&cert_path, cert_pem.as_bytes(), 0o644)
                    .map_err(|e| err(&cert_path, e.to_string()))?;
                tracing::info!(dir = %dir.display(), "made the sync device identity");
            }
            (true, true) => {}
            (true, false) => {
                return Err(err(&key_path, "the key is missing; restore it from a backup (a new one would change the device id)".into()));
            }
            (false, true) => return Err(err(&cert_path, "the certificate is missing; restore it from a backup".into())),
        }
        let cert_pem = std::fs::read(&cert_path).map_err(|e| err(&cert_path, e.to_string()))?;
        let key_pem = std::fs::read(&key_path).map_err(|e| err(&key_path, e.to_string()))?;
        Self::from_pem(&cert_pem, &key_pem, &dir.display().to_string())
    }

    /// From PEM text.
    pub fn from_pem(cert_pem: &[u8], key_pem: &[u8], origin: &str) -> Result<Identity> {
        use rustls::pki_types::pem::PemObject;
        let err = |detail: String| SyncError::Identity { path: origin.to_string(), detail };
        let cert = CertificateDer::pem_slice_iter(cert_pem)
            .next()
            .ok_or_else(|| err("no certificate in cert.pem".into()))?
            .map_err(|e| err(format!("cert.pem: {e}")))?;
        let key = PrivateKeyDer::from_pem_slice(key_pem).map_err(|e| err(format!("key.pem: {e}")))?;
        let device_id = DeviceId::from_certificate(cert.as_ref());
        Ok(Identity { cert, key, device_id })
    }

    /// The certificate chain and key for rustls.
    pub fn rustls_parts(&self) -> (Vec<CertificateDer<'static>>, PrivateKeyDer<'static>) {
        (vec![self.cert.clone()], self.key.clone_key())
    }

    /// A signing key for rustls configs.
    pub fn certified_key(&self) -> Result<Arc<rustls::sign::CertifiedKey>> {
        let provider = rustls::crypto::ring::default_provider();
        let key = provider.key_provider.load_private_key(self.key.clone_key()).map_err(|e| SyncError::Tls(e.to_string()))?;
        Ok(Arc::new(rustls::sign::CertifiedKey::new(vec![self.cert.clone()], key)))
    }
}

fn make_pair() -> Result<(String, String)> {
    let bad = |e: rcgen::Error| SyncError::Identity { path: "new identity".into(), detail: e.to_string() };
    let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P384_SHA384).map_err(bad)?;
    let mut params = rcgen::CertificateParams::new(vec!["syncthing".to_string()]).map_err(bad)?;
    params.distinguished_name = rcgen::DistinguishedName::new();
    params.distinguished_name.push(rcgen::DnType::CommonName, "syncthing");
    // Syncthing's certificates are valid for decades; the id must outlive any expiry check.
    params.not_before = rcgen::date_time_ymd(2026, 1, 1);
    params.not_after = rcgen::date_time_ymd(2066, 1, 1);
    let cert = params.self_signed(&key).map_err(bad)?;
    Ok((cert.pem(), key.serialize_pem()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn made_once_then_the_same_id_and_a_lone_file_is_an_error() {
        let dir = tempfile::tempdir().expect("tmp");
        let d = dir.path().join("sync");
        let a = Identity::load_or_create(&d).expect("create");
        let b = Identity::load_or_create(&d).expect("load");
        assert_eq!(a.device_id, b.device_id);
        std::fs::remove_file(d.join("key.pem")).expect("rm");
        let e = Identity::load_or_create(&d).expect_err("lone cert");
        assert!(e.to_string().contains("key is missing"), "{e}");
        assert_ne!(Identity::generate().expect("gen").device_id, a.device_id);
    }
}
