//! BEP connections: TLS 1.3 only, both sides present certificates, ALPN `bep/1.0`. Certificates
//! are self-signed, so TLS checks only that each side holds the key of the certificate it shows
//! (the handshake signatures, verified with ring); who the peer is comes from its device id, the
//! SHA-256 of that certificate, compared with the id the user paired. Then both sides send Hello.

use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, verify_tls12_signature, verify_tls13_signature};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::{DigitallySignedStruct, DistinguishedName, SignatureScheme};
use tokio::net::TcpStream;

use crate::device_id::DeviceId;
use crate::error::{Result, SyncError};
use crate::identity::Identity;
use crate::protocol::frame::{read_hello, read_message, write_hello};
use crate::protocol::messages::{Hello, Message};

/// The ALPN protocol name.
pub const ALPN: &[u8] = b"bep/1.0";

/// The TCP stream under TLS, read through a buffer. rustls asks its transport for at most 4 KiB
/// at a time, so a bare socket costs a `recvmsg` per 4 KiB — 262,000 system calls per GiB
/// received, the largest cost after the copy into the page cache; the buffer makes them 64 KiB
/// reads (writes pass through unbuffered).
pub type Wire = tokio::io::BufReader<TcpStream>;

/// How much the wire reads from the socket at once.
const WIRE_READ: usize = 64 * 1024;

/// Accepts any certificate whose handshake signature is valid; identity is decided by device id.
#[derive(Debug)]
struct ByDeviceId(Arc<CryptoProvider>);

impl ServerCertVerifier for ByDeviceId {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp: &[u8],
        _now: UnixTime,
    ) -> std::result::Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

impl ClientCertVerifier for ByDeviceId {
    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        &[]
    }

    fn verify_client_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _now: UnixTime,
    ) -> std::result::Result<ClientCertVerified, rustls::Error> {
        Ok(ClientCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// TLS settings for dialling peers as `identity`.
pub fn client_config(identity: &Identity) -> Result<Arc<rustls::ClientConfig>> {
    let p = provider();
    let (certs, key) = identity.rustls_parts();
    let mut config = rustls::ClientConfig::builder_with_provider(p.clone())
        .with_protocol_versions(&[&rustls::version::TLS13])
        .map_err(|e| SyncError::Tls(e.to_string()))?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(ByDeviceId(p)))
        .with_client_auth_cert(certs, key)
        .map_err(|e| SyncError::Tls(e.to_string()))?;
    config.alpn_protocols = vec![ALPN.to_vec()];
    Ok(Arc::new(config))
}

/// TLS settings for accepting peers as `identity` (a client certificate is required).
pub fn server_config(identity: &Identity) -> Result<Arc<rustls::ServerConfig>> {
    let p = provider();
    let (certs, key) = identity.rustls_parts();
    let mut config = rustls::ServerConfig::builder_with_provider(p.clone())
        .with_protocol_versions(&[&rustls::version::TLS13])
        .map_err(|e| SyncError::Tls(e.to_string()))?
        .with_client_cert_verifier(Arc::new(ByDeviceId(p)))
        .with_single_cert(certs, key)
        .map_err(|e| SyncError::Tls(e.to_string()))?;
    config.alpn_protocols = vec![ALPN.to_vec()];
    Ok(Arc::new(config))
}

/// An authenticated connection after the Hello exchange.
pub struct Connection<S> {
    /// The TLS stream.
    pub stream: S,
    /// Who the peer is.
    pub peer: DeviceId,
    /// What it said in its Hello.
    pub hello: Hello,
}

impl<S> std::fmt::Debug for Connection<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Connection({}, {:?})", self.peer, self.hello.client_name)
    }
}

/// Read messages from `rd` on a task of their own, so a session can answer while it waits:
/// each message (or the error that ended the stream) arrives on the returned channel. Abort the
/// handle when the session ends.
pub fn spawn_reader<R>(mut rd: R) -> (tokio::sync::mpsc::Receiver<Result<Message>>, tokio::task::JoinHandle<()>)
where
    R: tokio::io::AsyncRead + Unpin + Send + 'static,
{
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<Message>>(64);
    let handle = tokio::spawn(async move {
        loop {
            let m = read_message(&mut rd).await;
            let stop = m.is_err();
            if tx.send(m).await.is_err() || stop {
                break;
            }
        }
    });
    (rx, handle)
}

/// A random 64-bit number (index ids, discovery instance ids).
pub fn random_u64() -> Result<u64> {
    let mut b = [0u8; 8];
    ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut b).map_err(|_| SyncError::Tls("no randomness".into()))?;
    Ok(u64::from_be_bytes(b))
}

fn peer_id(certs: Option<&[CertificateDer<'_>]>) -> Result<DeviceId> {
    let cert = certs.and_then(|c| c.first()).ok_or_else(|| SyncError::Tls("the peer showed no certificate".into()))?;
    Ok(DeviceId::from_certificate(cert.as_ref()))
}

/// Dial `addr`, check that the peer is `expected` (when given), exchange Hellos.
pub async fn connect(
    addr: std::net::SocketAddr,
    identity: &Identity,
    expected: Option<DeviceId>,
    hello: &Hello,
) -> Result<Connection<tokio_rustls::client::TlsStream<Wire>>> {
    let tcp = TcpStream::connect(addr).await.map_err(|e| SyncError::io(format!("connecting to {addr}"), e))?;
    let _ = tcp.set_nodelay(true);
    let name = ServerName::try_from("syncthing").map_err(|e| SyncError::Tls(e.to_string()))?;
    let mut stream = tokio_rustls::TlsConnector::from(client_config(identity)?)
        .connect(name, Wire::with_capacity(WIRE_READ, tcp))
        .await
        .map_err(|e| SyncError::Tls(format!("handshake with {addr}: {e}")))?;
    let peer = peer_id(stream.get_ref().1.peer_certificates())?;
    if expected.is_some_and(|e| e != peer) {
        return Err(SyncError::UnexpectedPeer(peer.to_string()));
    }
    if stream.get_ref().1.alpn_protocol() != Some(ALPN) {
        tracing::debug!(%peer, "peer did not confirm ALPN bep/1.0");
    }
    write_hello(&mut stream, hello).await?;
    let theirs = read_hello(&mut stream).await?;
    Ok(Connection { stream, peer, hello: theirs })
}

/// Accept a dialled connection on `tcp`: TLS, the peer's id, Hellos.
pub async fn accept(
    tcp: TcpStream,
    config: Arc<rustls::ServerConfig>,
    hello: &Hello,
) -> Result<Connection<tokio_rustls::server::TlsStream<Wire>>> {
    let _ = tcp.set_nodelay(true);
    let mut stream = tokio_rustls::TlsAcceptor::from(config)
        .accept(Wire::with_capacity(WIRE_READ, tcp))
        .await
        .map_err(|e| SyncError::Tls(format!("handshake: {e}")))?;
    let peer = peer_id(stream.get_ref().1.peer_certificates())?;
    write_hello(&mut stream, hello).await?;
    let theirs = read_hello(&mut stream).await?;
    Ok(Connection { stream, peer, hello: theirs })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::frame::{read_message, write_message};
    use crate::protocol::messages::{Message, Ping};

    #[tokio::test]
    async fn two_hearths_authenticate_each_other_by_device_id() {
        let (a, b) = (Identity::generate().expect("a"), Identity::generate().expect("b"));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let server_cfg = server_config(&b).expect("server");
        let server = tokio::spawn(async move {
            let (tcp, _) = listener.accept().await.expect("accept");
            let hello = Hello { device_name: "b".into(), client_name: "hearth".into(), ..Default::default() };
            let mut c = accept(tcp, server_cfg, &hello).await.expect("accept");
            let msg = read_message(&mut c.stream).await.expect("ping");
            (c.peer, c.hello.device_name, msg)
        });
        let hello = Hello { device_name: "a".into(), client_name: "hearth".into(), ..Default::default() };
        let mut c = connect(addr, &a, Some(b.device_id), &hello).await.expect("connect");
        assert_eq!((c.peer, c.hello.device_name.as_str()), (b.device_id, "b"));
        write_message(&mut c.stream, &Message::Ping(Ping {}), true).await.expect("send");
        let (peer, name, msg) = server.await.expect("server");
        assert_eq!((peer, name.as_str(), msg), (a.device_id, "a", Message::Ping(Ping {})));

        // The wrong expected id is refused.
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let cfg = server_config(&b).expect("server");
        tokio::spawn(async move {
            if let Ok((tcp, _)) = listener.accept().await {
                let _ = accept(tcp, cfg, &Hello::default()).await;
            }
        });
        let err = connect(addr, &a, Some(a.device_id), &hello).await.expect_err("not b");
        assert!(matches!(err, SyncError::UnexpectedPeer(_)), "{err}");
    }
}
