//! The machine's own networks, to tell a client on the home LAN from one that is not.

use std::net::IpAddr;

/// One network the machine has an address on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LocalNetwork {
    /// The machine's address.
    pub addr: IpAddr,
    /// The prefix length of the network.
    pub prefix: u8,
}

impl LocalNetwork {
    /// Whether `ip` is on this network.
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.addr, ip) {
            (IpAddr::V4(a), IpAddr::V4(b)) => {
                let bits = u32::from(self.prefix.min(32));
                let mask = if bits == 0 { 0 } else { u32::MAX << (32 - bits) };
                (u32::from(a) & mask) == (u32::from(b) & mask)
            }
            (IpAddr::V6(a), IpAddr::V6(b)) => {
                let bits = u32::from(self.prefix.min(128));
                let mask = if bits == 0 { 0 } else { u128::MAX << (128 - bits) };
                (u128::from(a) & mask) == (u128::from(b) & mask)
            }
            _ => false,
        }
    }
}

/// The networks of every interface that is up, loopback included.
pub fn local_networks() -> Vec<LocalNetwork> {
    let Ok(ifaces) = if_addrs::get_if_addrs() else { return Vec::new() };
    ifaces
        .into_iter()
        .map(|i| match i.addr {
            if_addrs::IfAddr::V4(v4) => LocalNetwork { addr: IpAddr::V4(v4.ip), prefix: prefix_len_v4(v4.netmask) },
            if_addrs::IfAddr::V6(v6) => LocalNetwork { addr: IpAddr::V6(v6.ip), prefix: u128::from(v6.netmask).count_ones() as u8 },
        })
        .collect()
}

/// The IPv4 broadcast address of every interface that has one (loopback has none), so a LAN
/// announcement reaches each attached network, not only the one the default route points at.
pub fn broadcast_addresses() -> Vec<std::net::Ipv4Addr> {
    let Ok(ifaces) = if_addrs::get_if_addrs() else { return Vec::new() };
    let mut out: Vec<std::net::Ipv4Addr> = ifaces
        .into_iter()
        .filter_map(|i| match i.addr {
            if_addrs::IfAddr::V4(v4) if !v4.ip.is_loopback() => v4.broadcast.filter(|b| !b.is_unspecified()),
            _ => None,
        })
        .collect();
    out.sort();
    out.dedup();
    out
}

fn prefix_len_v4(mask: std::net::Ipv4Addr) -> u8 {
    u32::from(mask).count_ones() as u8
}

/// Whether `peer` is this machine or on one of its directly attached networks. An IPv4 address
/// mapped into IPv6 is treated as IPv4.
pub fn is_local_peer(peer: IpAddr, networks: &[LocalNetwork]) -> bool {
    let peer = match peer {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(peer),
        v4 => v4,
    };
    peer.is_loopback() || networks.iter().any(|n| n.contains(peer))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subnet_membership() {
        let lan = LocalNetwork { addr: "192.168.1.20".parse().expect("ip"), prefix: 24 };
        assert!(lan.contains("192.168.1.77".parse().expect("ip")));
        assert!(!lan.contains("192.168.2.77".parse().expect("ip")));
        assert!(!lan.contains("fe80::1".parse().expect("ip")));
        let nets = [lan];
        assert!(is_local_peer("127.0.0.1".parse().expect("ip"), &nets));
        assert!(is_local_peer("::ffff:192.168.1.5".parse().expect("ip"), &nets));
        assert!(!is_local_peer("8.8.8.8".parse().expect("ip"), &nets));
    }

    #[test]
    fn loopback_is_among_local_networks() {
        let nets = local_networks();
        assert!(nets.iter().any(|n| n.addr.is_loopback()));
    }
}
