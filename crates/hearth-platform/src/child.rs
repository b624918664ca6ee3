//! Running another program on input from outside (`heif-convert`, `ffprobe`, `ffmpeg`) with a
//! time limit and an address-space limit, so a file that makes it hang or balloon costs a
//! bounded amount and comes back as an error.
//!
//! The address-space limit is set by the shell (`ulimit -v`, which busybox's sh has too) before
//! it `exec`s the program: no code runs between `fork` and `exec` in this process. `MALLOC_ARENA_MAX`
//! keeps glibc from reserving an arena per thread, which would count against the limit without
//! being used. Inside a cgroup (the worker's), the group's `memory.max` applies as well.

use std::ffi::OsStr;
use std::io::Read;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Limits for one run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Wall time before the program is killed.
    pub time: Duration,
    /// Address space (bytes) the program may map.
    pub address_space: u64,
}

/// Why a run did not succeed.
#[derive(Debug, thiserror::Error)]
pub enum ChildError {
    /// The program is not installed.
    #[error("{program} is not installed")]
    Missing {
        /// Its name.
        program: String,
    },
    /// Killed at the time limit.
    #[error("{program} did not finish within {seconds} s and was stopped")]
    TimedOut {
        /// Its name.
        program: String,
        /// The limit.
        seconds: u64,
    },
    /// It exited with an error (or was killed by a signal, as when it ran out of memory).
    #[error("{program} failed ({status}): {stderr}")]
    Failed {
        /// Its name.
        program: String,
        /// How it ended.
        status: String,
        /// The end of what it wrote to stderr.
        stderr: String,
        /// What it wrote to stdout (programs such as smartctl report through their exit status
        /// and still print their answer).
        stdout: Vec<u8>,
    },
    /// Starting it or talking to it failed.
    #[error("{program}: {source}")]
    Io {
        /// Its name.
        program: String,
        /// The OS error.
        source: std::io::Error,
    },
}

/// What a successful run printed.
#[derive(Debug, Clone)]
pub struct Output {
    /// Everything on stdout (keep it small: it is held in memory).
    pub stdout: Vec<u8>,
}

/// How often a running child is checked.
const POLL: Duration = Duration::from_millis(10);
/// The stderr kept for an error message.
const STDERR_TAIL: usize = 2000;

/// `program` as a path: found on `PATH` here rather than by the shell, because the image's
/// busybox sh runs its own applet of a name before any program on `PATH` (its `mke2fs` is not
/// e2fsprogs'). A name found nowhere is left for the shell to report missing.
fn on_path(program: &str) -> std::ffi::OsString {
    if program.contains('/') {
        return program.into();
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    for dir in std::env::split_paths(&path) {
        let candidate = dir.join(program);
        let executable = std::fs::metadata(&candidate)
            .is_ok_and(|m| m.is_file() && std::os::unix::fs::PermissionsExt::mode(&m.permissions()) & 0o111 != 0);
        if executable {
            return candidate.into_os_string();
        }
    }
    program.into()
}

/// Run `program` with `args` under `limits`; stdout is returned, stderr is kept for errors.
pub fn run<S: AsRef<OsStr>>(program: &str, args: &[S], limits: Limits) -> Result<Output, ChildError> {
    run_with_input(program, args, &[], limits)
}

/// [`run`], with `input` on the program's stdin (none when empty).
pub fn run_with_input<S: AsRef<OsStr>>(program: &str, args: &[S], input: &[u8], limits: Limits) -> Result<Output, ChildError> {
    let kib = (limits.address_space / 1024).max(1);
    let mut cmd = Command::new("sh");
    cmd.arg("-c")
        .arg(format!("ulimit -v {kib} && exec \"$0\" \"$@\""))
        .arg(on_path(program))
        .args(args)
        .env("MALLOC_ARENA_MAX", "2")
        .stdin(if input.is_empty() { Stdio::null() } else { Stdio::piped() })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    // A group of its own, so the time limit stops whatever it started too (a child of it
    // holding the pipes open would otherwise keep this call waiting).
    std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
    let io = |source| ChildError::Io { program: program.to_string(), source };
    let mut child = cmd.spawn().map_err(io)?;
    // Written on a thread: a program that does not read it all must not block this call.
    let in_writer = child.stdin.take().map(|mut pipe| {
        let input = input.to_vec();
        std::thread::spawn(move || {
            use std::io::Write;
            let _ = pipe.write_all(&input);
        })
    });
    // Drain both pipes on threads so a chatty program never blocks on a full pipe.
    let mut out_pipe = child.stdout.take();
    let mut err_pipe = child.stderr.take();
    let out_reader = std::thread::spawn(move || {
        let mut buf = Vec::new();
        if let Some(p) = out_pipe.as_mut() {
            let _ = p.read_to_end(&mut buf);
        }
        buf
    });
    let err_reader = std::thread::spawn(move || {
        let mut buf = Vec::new();
        if let Some(p) = err_pipe.as_mut() {
            let _ = p.read_to_end(&mut buf);
        }
        buf
    });
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().map_err(io)? {
            break status;
        }
        if started.elapsed() >= limits.time {
            if let Ok(pid) = i32::try_from(child.id()) {
                let _ = nix::sys::signal::killpg(nix::unistd::Pid::from_raw(pid), nix::sys::signal::Signal::SIGKILL);
            }
            let _ = child.kill();
            let _ = child.wait();
            let _ = out_reader.join();
            let _ = err_reader.join();
            return Err(ChildError::TimedOut { program: program.to_string(), seconds: limits.time.as_secs() });
        }
        std::thread::sleep(POLL);
    };
    let stdout = out_reader.join().unwrap_or_default();
    let stderr = err_reader.join().unwrap_or_default();
    if let Some(w) = in_writer {
        let _ = w.join();
    }
    if status.success() {
        return Ok(Output { stdout });
    }
    // `exec` failing in sh: 127 (not found) or 126 (not executable).
    if status.code() == Some(127) {
        return Err(ChildError::Missing { program: program.to_string() });
    }
    let text = String::from_utf8_lossy(&stderr);
    let tail: String = text.trim().chars().rev().take(STDERR_TAIL).collect::<Vec<_>>().into_iter().rev().collect();
    let status = match (status.code(), std::os::unix::process::ExitStatusExt::signal(&status)) {
        (Some(c), _) => format!("exit status {c}"),
        (None, Some(s)) => format!("killed by signal {s}"),
        _ => "ended abnormally".to_string(),
    };
    Err(ChildError::Failed { program: program.to_string(), status, stderr: tail, stdout })
}

#[cfg(test)]
mod tests {
    use super::*;

    const GENEROUS: Limits = Limits { time: Duration::from_secs(30), address_space: 1 << 30 };

    #[test]
    fn output_comes_back_and_failures_say_why() {
        let out = run("echo", &["hello", "there"], GENEROUS).expect("echo");
        assert_eq!(out.stdout, b"hello there\n");
        match run("sh", &["-c", "echo broken >&2; exit 3"], GENEROUS) {
            Err(ChildError::Failed { status, stderr, .. }) => assert_eq!((status.as_str(), stderr.as_str()), ("exit status 3", "broken")),
            other => panic!("{other:?}"),
        }
        assert!(matches!(run("hearth-no-such-program", &["x"], GENEROUS), Err(ChildError::Missing { .. })));
        let big = vec![b'x'; 1 << 20];
        let out = run_with_input("wc", &["-c"], &big, GENEROUS).expect("wc");
        assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "1048576");
        // A program that reads none of its input still finishes.
        assert!(run_with_input("true", &[] as &[&str], &big, GENEROUS).is_ok());
    }

    #[test]
    fn a_hanging_program_is_stopped_at_the_limit() {
        let limits = Limits { time: Duration::from_millis(300), ..GENEROUS };
        assert!(matches!(run("sleep", &["30"], limits), Err(ChildError::TimedOut { .. })));
    }

    #[test]
    fn a_program_that_wants_too_much_memory_is_refused_it() {
        // dd's 1 GiB buffer under a 256 MiB address-space limit: refused inside the program.
        let limits = Limits { address_space: 256 << 20, ..GENEROUS };
        let r = run("dd", &["if=/dev/zero", "of=/dev/null", "bs=1G", "count=1"], limits);
        assert!(matches!(r, Err(ChildError::Failed { ref stderr, .. }) if stderr.contains("memory exhausted")), "{r:?}");
        assert!(run("dd", &["if=/dev/zero", "of=/dev/null", "bs=1M", "count=1"], limits).is_ok());
    }
}
