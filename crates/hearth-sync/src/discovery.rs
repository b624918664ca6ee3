//! Local discovery, as Syncthing does it (its "local discovery v4"): every 30 seconds a UDP
//! packet to port 21027, as an IPv4 broadcast and to the IPv6 multicast group ff12::8384,
//! holding `magic 0x2EA7D90B (u32 BE) ‖ Announce` (protobuf: device id bytes = 1, addresses = 2,
//! instance id = 3). An address with an unspecified IP (`tcp://0.0.0.0:22000`) means "the address
//! this packet came from", so a phone on the LAN finds the NAS without typing anything.
//!
//! Hearth also listens ([`listen`]): a paired device announcing itself on the LAN is dialled at
//! the address its packet came from.

use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV6};
use std::time::Duration;

use prost::Message as _;

use crate::device_id::DeviceId;
use crate::error::{Result, SyncError};

/// The discovery port.
pub const PORT: u16 = 21027;
/// The IPv6 group.
pub const V6_GROUP: Ipv6Addr = Ipv6Addr::new(0xff12, 0, 0, 0, 0, 0, 0, 0x8384);
/// How often to announce.
pub const INTERVAL: Duration = Duration::from_secs(30);
const MAGIC: u32 = 0x2EA7_D90B;
/// Longest packet accepted.
const MAX_PACKET: usize = 1024;

/// An announcement.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Announce {
    /// 32 raw bytes of the device id.
    #[prost(bytes = "vec", tag = "1")]
    pub id: Vec<u8>,
    /// `tcp://IP:PORT` addresses.
    #[prost(string, repeated, tag = "2")]
    pub addresses: Vec<String>,
    /// Random per process start, so peers notice a restart.
    #[prost(int64, tag = "3")]
    pub instance_id: i64,
}

/// The bytes of an announcement.
pub fn encode(id: DeviceId, addresses: &[String], instance_id: i64) -> Vec<u8> {
    let body = Announce { id: id.0.to_vec(), addresses: addresses.to_vec(), instance_id }.encode_to_vec();
    let mut out = MAGIC.to_be_bytes().to_vec();
    out.extend_from_slice(&body);
    out
}

/// Parse a received packet.
pub fn decode(packet: &[u8]) -> Result<(DeviceId, Announce)> {
    let bad = |why: &str| SyncError::Protocol(format!("local discovery packet: {why}"));
    if packet.len() > MAX_PACKET {
        return Err(bad("too long"));
    }
    let Some((magic, body)) = packet.split_first_chunk::<4>() else { return Err(bad("too short")) };
    if u32::from_be_bytes(*magic) != MAGIC {
        return Err(bad("unknown magic"));
    }
    let a = Announce::decode(body).map_err(|e| bad(&e.to_string()))?;
    let id = DeviceId::from_bytes(&a.id).ok_or_else(|| bad("the device id is not 32 bytes"))?;
    Ok((id, a))
}

/// Announce `id` reachable at `port` (any address of this host) until `stop` fires.
pub async fn announce(id: DeviceId, port: u16, mut stop: tokio::sync::watch::Receiver<bool>) {
    let instance = crate::connection::random_u64().unwrap_or(1) & i64::MAX as u64;
    let packet = encode(id, &[format!("tcp://0.0.0.0:{port}"), format!("tcp://[::]:{port}")], instance as i64);
    let v4 = tokio::net::UdpSocket::bind((Ipv4Addr::UNSPECIFIED, 0)).await.ok();
    if let Some(s) = &v4
        && let Err(e) = s.set_broadcast(true)
    {
        tracing::warn!(error = %e, "local discovery: no IPv4 broadcast");
    }
    let v6 = tokio::net::UdpSocket::bind((Ipv6Addr::UNSPECIFIED, 0)).await.ok();
    loop {
        if let Some(s) = &v4 {
            // Each network's own broadcast address, as Syncthing does (255.255.255.255 leaves
            // only by the default route, and a box without one would reach nobody).
            let mut targets = hearth_platform::network::broadcast_addresses();
            if targets.is_empty() {
                targets.push(Ipv4Addr::BROADCAST);
            }
            for to in targets {
                if let Err(e) = s.send_to(&packet, SocketAddr::from((to, PORT))).await {
                    tracing::debug!(error = %e, %to, "local discovery: IPv4 broadcast failed");
                }
            }
        }
        if let Some(s) = &v6 {
            let _ = s.send_to(&packet, SocketAddr::V6(SocketAddrV6::new(V6_GROUP, PORT, 0, 0))).await;
        }
        tokio::select! {
            _ = tokio::time::sleep(INTERVAL) => {}
            _ = stop.changed() => return,
        }
    }
}

/// The addresses an announcement means: `tcp://` ones, an unspecified IP replaced by the
/// sender's (as Syncthing does), at most 16.
pub fn addresses_of(a: &Announce, from: SocketAddr) -> Vec<SocketAddr> {
    a.addresses
        .iter()
        .filter_map(|text| text.strip_prefix("tcp://").and_then(|hp| hp.parse::<SocketAddr>().ok()))
        .filter(|addr| addr.is_ipv4() == from.is_ipv4())
        .map(|mut addr| {
            if addr.ip().is_unspecified() {
                addr.set_ip(from.ip());
            }
            addr
        })
        .take(16)
        .collect()
}

/// Listen for other devices' announcements until `stop`, telling `engine` where they are.
/// The port may be taken (another Syncthing on this host): then the NAS only announces.
pub async fn listen(engine: crate::engine::Engine, mut stop: tokio::sync::watch::Receiver<bool>) {
    let v4 = tokio::net::UdpSocket::bind((Ipv4Addr::UNSPECIFIED, PORT)).await;
    let v6 = async {
        let s = tokio::net::UdpSocket::bind((Ipv6Addr::UNSPECIFIED, PORT)).await?;
        let _ = s.join_multicast_v6(&V6_GROUP, 0);
        std::io::Result::Ok(s)
    }
    .await;
    let (v4, v6) = match (v4, v6) {
        (Err(e), Err(_)) => {
            tracing::info!(error = %e, "local discovery: port {PORT} is taken; only announcing");
            return;
        }
        (a, b) => (a.ok(), b.ok()),
    };
    let mut b4 = [0u8; MAX_PACKET + 1];
    let mut b6 = [0u8; MAX_PACKET + 1];
    loop {
        let got = tokio::select! {
            r = async { match &v4 { Some(s) => s.recv_from(&mut b4).await.map(|(n, a)| (b4[..n].to_vec(), a)), None => std::future::pending().await } } => r,
            r = async { match &v6 { Some(s) => s.recv_from(&mut b6).await.map(|(n, a)| (b6[..n].to_vec(), a)), None => std::future::pending().await } } => r,
            _ = stop.changed() => return,
        };
        let Ok((packet, from)) = got else { continue };
        match decode(&packet) {
            Ok((id, a)) => engine.discovered(id, addresses_of(&a, from)),
            Err(e) => tracing::debug!(%from, error = %e, "ignored a local discovery packet"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn announcements_roundtrip_and_garbage_is_refused() {
        let id = DeviceId([9; 32]);
        let p = encode(id, &["tcp://0.0.0.0:22000".into()], 42);
        let (got, a) = decode(&p).expect("decode");
        assert_eq!((got, a.addresses.as_slice(), a.instance_id), (id, &["tcp://0.0.0.0:22000".to_string()][..], 42));
        assert!(decode(&p[..3]).is_err());
        assert!(decode(&[0, 0, 0, 0, 1]).is_err());
        let short = encode(DeviceId([1; 32]), &[], 1);
        let mut bad_id = short.clone();
        bad_id[5] = 3; // id length 3
        assert!(decode(&bad_id).is_err());
        let from: SocketAddr = "192.168.1.7:21027".parse().expect("addr");
        let a = Announce {
            id: vec![],
            addresses: vec![
                "tcp://0.0.0.0:22000".into(),
                "tcp://10.0.0.2:22001".into(),
                "quic://0.0.0.0:22000".into(),
                "tcp://[::]:22000".into(),
                "junk".into(),
            ],
            instance_id: 1,
        };
        let got: Vec<String> = addresses_of(&a, from).iter().map(ToString::to_string).collect();
        assert_eq!(got, ["192.168.1.7:22000", "10.0.0.2:22001"]);
    }
}
