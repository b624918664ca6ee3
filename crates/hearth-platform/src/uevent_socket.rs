//! The kernel's uevent socket (`NETLINK_KOBJECT_UEVENT`, multicast group 1): a message each time a
//! device comes, changes or goes. The image runs no udev daemon, so this is how the disks service
//! hears of a disk being plugged in. Binding the kernel's group needs no privilege. Reads block
//! for at most the timeout given at open, so a reading thread can notice it should stop.

use std::io;
use std::os::fd::{AsRawFd, OwnedFd};
use std::time::Duration;

use nix::sys::socket::{AddressFamily, MsgFlags, NetlinkAddr, SockFlag, SockProtocol, SockType, bind, recv, setsockopt, socket, sockopt};
use nix::sys::time::TimeVal;

/// The kernel's multicast group for uevents (udev's re-broadcasts use group 2).
const KERNEL_GROUP: u32 = 1;
/// A burst (a hub with four disks, each with partitions) must not overflow the queue.
const RECEIVE_BUFFER: usize = 1 << 20;
/// The largest uevent the kernel sends (`UEVENT_BUFFER_SIZE`).
pub const MESSAGE_MAX: usize = 2048;

/// A bound uevent socket.
#[derive(Debug)]
pub struct UeventSocket {
    fd: OwnedFd,
}

impl UeventSocket {
    /// Opens and binds the socket to the kernel's uevent group; a read waits at most `timeout`.
    pub fn open(timeout: Duration) -> io::Result<UeventSocket> {
        let fd = socket(AddressFamily::Netlink, SockType::Datagram, SockFlag::SOCK_CLOEXEC, SockProtocol::NetlinkKObjectUEvent)?;
        let micros = i64::try_from(timeout.as_micros()).unwrap_or(i64::MAX).max(1);
        setsockopt(&fd, sockopt::ReceiveTimeout, &TimeVal::new(micros / 1_000_000, (micros % 1_000_000) as _))?;
        // Best effort: without the larger buffer a burst may drop messages, which the service
        // covers by reading the whole inventory again on any message.
        let _ = setsockopt(&fd, sockopt::RcvBuf, &RECEIVE_BUFFER);
        bind(fd.as_raw_fd(), &NetlinkAddr::new(0, KERNEL_GROUP))?;
        Ok(UeventSocket { fd })
    }

    /// One message into `buf` (its length); `None` when none came within the timeout. An
    /// `ENOBUFS` error means the kernel dropped messages (the queue overflowed).
    pub fn receive(&self, buf: &mut [u8]) -> io::Result<Option<usize>> {
        match recv(self.fd.as_raw_fd(), buf, MsgFlags::empty()) {
            Ok(n) => Ok(Some(n)),
            Err(nix::errno::Errno::EAGAIN | nix::errno::Errno::EINTR) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opens_unprivileged_and_a_read_ends_within_its_timeout() {
        let socket = UeventSocket::open(Duration::from_millis(20)).expect("a uevent socket");
        let mut buf = [0u8; MESSAGE_MAX];
        // Whatever the machine is doing (a message, or none within the timeout), it returns.
        socket.receive(&mut buf).expect("a read");
    }
}
