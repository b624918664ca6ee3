//! Signals to child processes: ask politely first. The lowest CPU priority for a background
//! worker's threads.

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

/// Send SIGTERM to `pid`. Returns false when the process is already gone.
pub fn terminate(pid: u32) -> bool {
    send(pid, Signal::SIGTERM)
}

/// Gives the calling thread, and every thread it starts afterwards, the lowest CPU priority (nice
/// 19), so background work (ML) yields the CPU to the daemon and to whatever a person waits for.
/// On the board the cgroup's `cpu.weight` shares the CPU between services; where cgroups cannot
/// be written (a development machine) this is the only thing that keeps the work in the
/// background. Linux applies nice values per thread, hence "calling thread". Returns whether it
/// took.
pub fn lowest_cpu_priority_for_this_thread() -> bool {
    // SAFETY: setpriority with PRIO_PROCESS and who = 0 changes only the calling thread's nice
    // value; it takes no pointers and touches no memory.
    #[allow(unsafe_code)]
    let r = unsafe { libc::setpriority(libc::PRIO_PROCESS, 0, 19) };
    r == 0
}

/// For a worker process whose stdin is its parent's lifeline (a pipe only the parent writes to):
/// a thread waits for end-of-file on stdin, which comes when the parent is gone however it
/// ended, and then sends this process SIGTERM, so the worker stops the way it stops on a normal
/// shutdown (the job in hand finished or given back). Anything read is ignored.
pub fn stop_when_stdin_closes() -> std::io::Result<()> {
    std::thread::Builder::new().name("lifeline".into()).spawn(|| {
        let mut stdin = std::io::stdin().lock();
        let mut buf = [0u8; 64];
        loop {
            match std::io::Read::read(&mut stdin, &mut buf) {
                Ok(0) => break,
                Ok(_) => continue,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(_) => break,
            }
        }
        terminate(std::process::id());
    })?;
    Ok(())
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
