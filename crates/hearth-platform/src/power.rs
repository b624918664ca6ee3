//! Powering the box off and rebooting it, from the web page's buttons.
//!
//! On the image, PID 1 is busybox init (docs/image.md): it runs the shutdown actions of
//! `/etc/inittab` (stop hearthd, save the clock, unmount /data) when signalled, so hearthd asks PID 1
//! instead of calling reboot(2) itself, which would skip them. On a developer machine there is no
//! [`Power`] at all and the API says so.

use std::io;

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

/// What the API may ask of the machine.
pub trait Power: Send + Sync {
    /// Stop every service, unmount, and power off.
    fn power_off(&self) -> io::Result<()>;
    /// Stop every service, unmount, and start again.
    fn reboot(&self) -> io::Result<()>;
}

/// busybox init's signals: SIGUSR2 powers off, SIGTERM reboots.
#[derive(Debug, Default, Clone, Copy)]
pub struct BusyboxInit;

impl Power for BusyboxInit {
    fn power_off(&self) -> io::Result<()> {
        kill(Pid::from_raw(1), Signal::SIGUSR2).map_err(io::Error::from)
    }

    fn reboot(&self) -> io::Result<()> {
        kill(Pid::from_raw(1), Signal::SIGTERM).map_err(io::Error::from)
    }
}
