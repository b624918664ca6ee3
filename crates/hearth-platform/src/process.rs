//! Signals to child processes: ask politely first.

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

/// Send SIGTERM to `pid`. Returns false when the process is already gone.
pub fn terminate(pid: u32) -> bool {
    send(pid, Signal::SIGTERM)
}

/// Send SIGKILL to `pid`. Returns false when the process is already gone.
pub fn kill_hard(pid: u32) -> bool {
    send(pid, Signal::SIGKILL)
}

fn send(pid: u32, sig: Signal) -> bool {
    let Ok(raw) = i32::try_from(pid) else { return false };
    if raw <= 0 {
        // 0 and negatives address process groups; never send those by accident.
        return false;
    }
    kill(Pid::from_raw(raw), sig).is_ok()
}
