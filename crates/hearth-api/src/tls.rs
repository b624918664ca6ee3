//! HTTPS: a self-signed certificate made on first start and kept in `DATA/tls/`, and the rustls
//! configuration (ring provider). Phones pin the certificate by the fingerprint announced in the
//! `_hearth._tcp` TXT record (`cert_sha256`), which is also shown on the web page.

use std::path::Path;
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

use crate::auth::secret;

/// The loaded certificate.
pub struct Tls {
    /// The rustls configuration.
    pub config: Arc<rustls::ServerConfig>,
    /// SHA-256 of the certificate's DER, lower-case hex.
    pub fingerprint: String,
}

/// Errors loading or making the certificate.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// Reading or writing the files failed.
    #[error("cannot read or write the HTTPS certificate in {dir}: {source}")]
    Io {
        /// The folder.
        dir: String,
        /// The OS error.
        source: std::io::Error,
    },
    /// The files exist but are not a usable certificate and key.
    #[error("the HTTPS certificate in {dir} is not usable: {detail}")]
    Invalid {
        /// The folder.
        dir: String,
        /// Why.
        detail: String,
    },
}

impl hearth_core::Kinded for TlsError {
    fn kind(&self) -> hearth_core::ErrorKind {
        match self {
            TlsError::Io { source, .. } => hearth_core::ErrorKind::of_io(source),
            TlsError::Invalid { .. } => hearth_core::ErrorKind::Corrupt,
        }
    }
    fn guidance(&self) -> Option<String> {
        match self {
            TlsError::Invalid { dir, .. } => {
                Some(format!("move {dir} away and restart Hearth to make a new certificate (phones will ask to trust it again)"))
            }
            TlsError::Io { .. } => None,
        }
    }
}

/// Load `dir/cert.pem` and `dir/key.pem`, making them first when missing. `names` are the DNS
/// names and addresses the certificate is for.
pub fn load_or_create(dir: &Path, names: &[String]) -> Result<Tls, TlsError> {
    let d = dir.display().to_string();
    let io = |source| TlsError::Io { dir: d.clone(), source };
    let cert_path = dir.join("cert.pem");
    let key_path = dir.join("key.pem");
    if !cert_path.exists() || !key_path.exists() {
        hearth_platform::durable::ensure_writable_dir(dir, 0o700).map_err(io)?;
        let made =
            rcgen::generate_simple_self_signed(names.to_vec()).map_err(|e| TlsError::Invalid { dir: d.clone(), detail: e.to_string() })?;
        // The key first: a crash between the two writes leaves no certificate, so the next start
        // makes a fresh pair instead of pairing a new certificate with an old key.
        hearth_platform::durable::write_atomic(&key_path, made.signing_key.serialize_pem().as_bytes(), 0o600).map_err(io)?;
        hearth_platform::durable::write_atomic(&cert_path, made.cert.pem().as_bytes(), 0o644).map_err(io)?;
        tracing::info!(dir = %d, "made a new HTTPS certificate");
    }
    let invalid = |detail: String| TlsError::Invalid { dir: d.clone(), detail };
    let cert_pem = std::fs::read(&cert_path).map_err(io)?;
    let key_pem = std::fs::read(&key_path).map_err(io)?;
    let certs: Vec<CertificateDer<'static>> =
        CertificateDer::pem_slice_iter(&cert_pem).collect::<Result<_, _>>().map_err(|e| invalid(format!("cert.pem: {e}")))?;
    let Some(first) = certs.first() else { return Err(invalid("cert.pem holds no certificate".into())) };
    let fingerprint = secret::hex(ring::digest::digest(&ring::digest::SHA256, first.as_ref()).as_ref());
    let key = PrivateKeyDer::from_pem_slice(&key_pem).map_err(|e| invalid(format!("key.pem: {e}")))?;
    let mut config = rustls::ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .map_err(|e| invalid(e.to_string()))?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| invalid(e.to_string()))?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Tls { config: Arc::new(config), fingerprint })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn made_once_then_reloaded_with_same_fingerprint() {
        let dir = tempfile::tempdir().expect("tempdir");
        let tls_dir = dir.path().join("tls");
        let names = vec!["hearth.local".to_string(), "localhost".to_string()];
        let a = load_or_create(&tls_dir, &names).expect("create");
        let b = load_or_create(&tls_dir, &names).expect("reload");
        assert_eq!(a.fingerprint, b.fingerprint);
        assert_eq!(a.fingerprint.len(), 64);
        std::fs::write(tls_dir.join("key.pem"), "garbage").expect("write");
        let err = load_or_create(&tls_dir, &names).err().expect("invalid key");
        assert!(err.to_string().contains("not usable"), "{err}");
    }
}
