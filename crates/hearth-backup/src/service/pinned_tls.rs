//! TLS to another Hearth: its certificate is self-signed, so no authority vouches for it.
//! Instead the owner pins it: the SHA-256 of the certificate the other box shows on its Box page
//! (and that the connection test reports). A connection whose certificate has another digest is
//! refused, whoever signed it.

use std::sync::{Arc, Mutex};

use rustls::DigitallySignedStruct;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};

/// The hex SHA-256 of a DER certificate, as Hearth shows fingerprints.
pub fn fingerprint(der: &[u8]) -> String {
    hearth_core::hex::lower(ring::digest::digest(&ring::digest::SHA256, der).as_ref())
}

/// What the verifier accepts.
#[derive(Debug)]
enum Pin {
    /// Only this digest.
    Sha256(String),
    /// Anything, noting what was seen (the connection test, before the owner pins it; nothing
    /// secret is sent on such a connection).
    Observe(Mutex<Option<String>>),
}

/// A verifier for one pinned certificate.
#[derive(Debug)]
pub struct PinnedVerifier {
    pin: Pin,
    provider: Arc<rustls::crypto::CryptoProvider>,
}

impl PinnedVerifier {
    fn new(pin: Pin) -> PinnedVerifier {
        PinnedVerifier { pin, provider: Arc::new(rustls::crypto::ring::default_provider()) }
    }

    /// The certificate seen by an observing verifier.
    pub fn observed(&self) -> Option<String> {
        match &self.pin {
            Pin::Observe(seen) => seen.lock().ok().and_then(|s| s.clone()),
            Pin::Sha256(_) => None,
        }
    }
}

/// A client configuration that trusts only the certificate with this digest.
pub fn pinned_config(sha256_hex: &str) -> Arc<rustls::ClientConfig> {
    config(Arc::new(PinnedVerifier::new(Pin::Sha256(sha256_hex.to_ascii_lowercase()))))
}

/// A client configuration that accepts any certificate and records its digest.
pub fn observing_config() -> (Arc<rustls::ClientConfig>, Arc<PinnedVerifier>) {
    let v = Arc::new(PinnedVerifier::new(Pin::Observe(Mutex::new(None))));
    (config(v.clone()), v)
}

fn config(v: Arc<PinnedVerifier>) -> Arc<rustls::ClientConfig> {
    let provider = v.provider.clone();
    let builder = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap_or_else(|_| rustls::ClientConfig::builder_with_protocol_versions(rustls::DEFAULT_VERSIONS));
    Arc::new(builder.dangerous().with_custom_certificate_verifier(v).with_no_client_auth())
}

impl ServerCertVerifier for PinnedVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let seen = fingerprint(end_entity.as_ref());
        match &self.pin {
            Pin::Sha256(want) if *want == seen => Ok(ServerCertVerified::assertion()),
            Pin::Sha256(want) => Err(rustls::Error::General(format!(
                "the other box's certificate is {seen}, not the pinned {want}: it was replaced, or this is not that box"
            ))),
            Pin::Observe(slot) => {
                if let Ok(mut s) = slot.lock() {
                    *s = Some(seen);
                }
                Ok(ServerCertVerified::assertion())
            }
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.provider.signature_verification_algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.provider.signature_verification_algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.provider.signature_verification_algorithms.supported_schemes()
    }
}
