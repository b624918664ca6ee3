//! A small HTTP/1.1 client for the CLI: over the data folder's unix socket, or to a URL with an
//! app password. HTTPS URLs are checked against the certificate fingerprint the box announces
//! (`cert_sha256`), since the box's certificate is self-signed.

use std::path::PathBuf;
use std::sync::Arc;

use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Bytes;
use hyper::{Method, Request, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite};

/// Where the daemon is.
#[derive(Debug, Clone)]
pub enum Target {
    /// The unix socket in the data folder.
    Socket(PathBuf),
    /// `http://host:port` or `https://host:port` (with the certificate's SHA-256, hex).
    Url {
        /// `host:port`.
        authority: String,
        /// Some(fingerprint) for HTTPS.
        tls_pin: Option<String>,
        /// Whether the URL was https.
        https: bool,
    },
}

/// Client errors, worded for the CLI.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The URL is not one we can use.
    #[error("{0}")]
    BadUrl(String),
    /// Could not reach the daemon.
    #[error("cannot reach hearthd at {target}: {source}")]
    Connect {
        /// Where.
        target: String,
        /// Why.
        source: std::io::Error,
    },
    /// The HTTP exchange failed.
    #[error("the request failed: {0}")]
    Http(String),
}

/// A client for one daemon.
#[derive(Debug, Clone)]
pub struct Client {
    target: Target,
    token: Option<String>,
}

const MAX_RESPONSE: usize = 16 << 20;

impl Client {
    /// A client over the unix socket at `path`.
    pub fn socket(path: PathBuf) -> Self {
        Client { target: Target::Socket(path), token: None }
    }

    /// A client for `url` (`http://host:port` or `https://host:port`) with an app password.
    pub fn url(url: &str, token: Option<String>, cert_sha256: Option<String>) -> Result<Self, ClientError> {
        let (https, rest) = if let Some(r) = url.strip_prefix("https://") {
            (true, r)
        } else if let Some(r) = url.strip_prefix("http://") {
            (false, r)
        } else {
            return Err(ClientError::BadUrl(format!("{url:?} is not an http:// or https:// URL")));
        };
        let authority = rest.trim_end_matches('/').to_string();
        if authority.is_empty() || authority.contains('/') {
            return Err(ClientError::BadUrl(format!("give the box's address only, such as http://hearth.local:8080 (not {url:?})")));
        }
        let authority = if authority.contains(':') && !authority.ends_with(']') {
            authority
        } else {
            format!("{authority}:{}", if https { 443 } else { 80 })
        };
        if https && cert_sha256.is_none() {
            return Err(ClientError::BadUrl(
                "HTTPS needs the box's certificate fingerprint: --cert-sha256 HEX (shown on its web page and in its mDNS record)".into(),
            ));
        }
        Ok(Client { target: Target::Url { authority, tls_pin: cert_sha256.map(|s| s.to_lowercase().replace(':', "")), https }, token })
    }

    /// Send a request with an optional JSON body; returns the status and the JSON answer
    /// (`null` when the body is empty).
    pub async fn request(
        &self,
        method: Method,
        path: &str,
        body: Option<&serde_json::Value>,
    ) -> Result<(StatusCode, serde_json::Value), ClientError> {
        let body = match body {
            Some(v) => Some(("application/json", Bytes::from(serde_json::to_vec(v).map_err(|e| ClientError::Http(e.to_string()))?))),
            None => None,
        };
        self.request_bytes(method, path, body).await
    }

    /// Send a request with a body of any type (`(content type, bytes)`, such as an update
    /// bundle); returns the status and the JSON answer.
    pub async fn request_bytes(
        &self,
        method: Method,
        path: &str,
        body: Option<(&str, Bytes)>,
    ) -> Result<(StatusCode, serde_json::Value), ClientError> {
        let host = match &self.target {
            Target::Socket(_) => "localhost".to_string(),
            Target::Url { authority, .. } => authority.clone(),
        };
        let mut req =
            Request::builder().method(method).uri(path).header(hyper::header::HOST, host).header(hyper::header::ACCEPT, "application/json");
        if let Some(t) = &self.token {
            req = req.header(hyper::header::AUTHORIZATION, format!("Bearer {t}"));
        }
        let bytes = match body {
            Some((content_type, bytes)) => {
                req = req.header(hyper::header::CONTENT_TYPE, content_type);
                bytes
            }
            None => Bytes::new(),
        };
        let req = req.body(Full::new(bytes)).map_err(|e| ClientError::Http(e.to_string()))?;
        match &self.target {
            Target::Socket(p) => {
                let s = tokio::net::UnixStream::connect(p)
                    .await
                    .map_err(|source| ClientError::Connect { target: p.display().to_string(), source })?;
                exchange(s, req).await
            }
            Target::Url { authority, tls_pin, https } => {
                let s = tokio::net::TcpStream::connect(authority.as_str())
                    .await
                    .map_err(|source| ClientError::Connect { target: authority.clone(), source })?;
                if *https {
                    let pin = tls_pin.clone().unwrap_or_default();
                    let config = pinned_config(pin).map_err(|e| ClientError::Http(e.to_string()))?;
                    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
                    let name = rustls::pki_types::ServerName::try_from("hearth.local").map_err(|e| ClientError::Http(e.to_string()))?;
                    let tls =
                        connector.connect(name, s).await.map_err(|source| ClientError::Connect { target: authority.clone(), source })?;
                    exchange(tls, req).await
                } else {
                    exchange(s, req).await
                }
            }
        }
    }
}

async fn exchange<S>(stream: S, req: Request<Full<Bytes>>) -> Result<(StatusCode, serde_json::Value), ClientError>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let (mut sender, conn) =
        hyper::client::conn::http1::handshake(TokioIo::new(stream)).await.map_err(|e| ClientError::Http(e.to_string()))?;
    tokio::spawn(async move {
        let _ = conn.await;
    });
    let resp = sender.send_request(req).await.map_err(|e| ClientError::Http(e.to_string()))?;
    let status = resp.status();
    let body = Limited::new(resp.into_body(), MAX_RESPONSE).collect().await.map_err(|e| ClientError::Http(e.to_string()))?.to_bytes();
    if body.is_empty() {
        return Ok((status, serde_json::Value::Null));
    }
    let value = serde_json::from_slice(&body).unwrap_or_else(|_| serde_json::Value::String(String::from_utf8_lossy(&body).into_owned()));
    Ok((status, value))
}

/// Accepts exactly the certificate whose SHA-256 is `pin`; signatures are still verified.
#[derive(Debug)]
struct PinnedCert {
    pin: String,
    provider: Arc<rustls::crypto::CryptoProvider>,
}

impl rustls::client::danger::ServerCertVerifier for PinnedCert {
    fn verify_server_cert(
        &self,
        end_entity: &rustls::pki_types::CertificateDer<'_>,
        _intermediates: &[rustls::pki_types::CertificateDer<'_>],
        _server_name: &rustls::pki_types::ServerName<'_>,
        _ocsp: &[u8],
        _now: rustls::pki_types::UnixTime,
    ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        let fp = crate::auth::secret::hex(ring::digest::digest(&ring::digest::SHA256, end_entity.as_ref()).as_ref());
        if crate::auth::secret::constant_time_eq(fp.as_bytes(), self.pin.as_bytes()) {
            Ok(rustls::client::danger::ServerCertVerified::assertion())
        } else {
            Err(rustls::Error::General(format!("the box's certificate fingerprint is {fp}, not the expected one")))
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.provider.signature_verification_algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.provider.signature_verification_algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.provider.signature_verification_algorithms.supported_schemes()
    }
}

fn pinned_config(pin: String) -> Result<rustls::ClientConfig, rustls::Error> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let verifier = Arc::new(PinnedCert { pin, provider: provider.clone() });
    Ok(rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth())
}
