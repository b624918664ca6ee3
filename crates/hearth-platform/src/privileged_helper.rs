//! The privileged helper: what the unprivileged daemon may ask root to do, and nothing more.
//!
//! On the appliance hearthd starts as root, spawns `hearthd privileged-helper`, then becomes the
//! `hearth` user ([`crate::identity`]). The two talk over the helper's stdin and stdout: one
//! request per line, one answer per line (`ok`, `failed: …` or `refused: …`). The request set is
//! closed ([`Request`]); a line that is not one of them, or longer than [`MAX_LINE`], is refused
//! and the helper goes on. The helper logs every request. When the daemon goes, in any way, its
//! end of the pipe closes and the helper exits, so init's next hearthd starts a fresh one.
//!
//! Mounting and growing the data partition run as root before hearthd starts (rcS). Updates are
//! root's too: the helper writes the other root slot and the boot state, so a daemon taken over
//! cannot boot a system that is not signed by a trusted key (docs/updates.md).

use std::io::{self, BufRead, BufReader, Read, Write};
use std::path::Path;
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::Mutex;

use crate::power::Power;

/// The longest request line (without its newline).
pub const MAX_LINE: usize = 64;

/// What the daemon may ask.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Request {
    /// Power the box off through PID 1.
    PowerOff,
    /// Reboot the box through PID 1.
    Reboot,
    /// Install the bundle uploaded to `DATA/system/update/upload.hup` into the other root slot
    /// (in the background; progress in `/run/hearth/update/record.json`).
    UpdateInstallUpload,
    /// Install the channel offer in `DATA/system/update/offer.json` (in the background).
    UpdateInstallChannel,
    /// Stop the install going on.
    UpdateCancel,
    /// The running system passed its health gate: make it the good slot.
    UpdateCommit,
    /// Put the previous system on trial for the next boot.
    UpdateGoBack,
    /// Read the disks as root (their first bytes and their health need it) into
    /// `/run/hearth/disks.json`, which the daemon reads (docs/disks.md).
    DisksRead,
    /// The same, with each disk whose health reading is due read by smartctl first (and a
    /// weekly short self-test started).
    DisksReadHealth,
    /// Give the disk named in `DATA/system/disks/use-for-data.json` the data: partition and
    /// format it, and record that the next start copies the data to it (docs/disks.md).
    DisksUseForData,
    /// Add the disk named in `DATA/system/disks/mirror.json` to the data's btrfs pool, or put it
    /// in the place of a missing one (docs/disks.md, "Mirrors").
    DisksMirror,
    /// Eject the disk named in `DATA/system/disks/eject.json`; the outcome goes to
    /// `/run/hearth/eject.json`.
    DisksEject,
    /// Scrub the data's btrfs pool (in the background; results in `DATA/system/disks/scrubs.json`).
    DisksScrub,
    /// Empty the card's copy of the data, now that it runs from a disk (docs/disks.md).
    DisksFreeCardCopy,
}

/// Why a line is not a request.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum RequestError {
    /// Longer than [`MAX_LINE`].
    #[error("the request is longer than {MAX_LINE} bytes")]
    TooLong,
    /// Not in the set.
    #[error("{0:?} is not a request the helper knows")]
    Unknown(String),
}

impl Request {
    /// The request on `line` (without its newline).
    pub fn parse(line: &[u8]) -> Result<Request, RequestError> {
        if line.len() > MAX_LINE {
            return Err(RequestError::TooLong);
        }
        match line {
            b"power-off" => Ok(Request::PowerOff),
            b"reboot" => Ok(Request::Reboot),
            b"update-install-upload" => Ok(Request::UpdateInstallUpload),
            b"update-install-channel" => Ok(Request::UpdateInstallChannel),
            b"update-cancel" => Ok(Request::UpdateCancel),
            b"update-commit" => Ok(Request::UpdateCommit),
            b"update-go-back" => Ok(Request::UpdateGoBack),
            b"disks-read" => Ok(Request::DisksRead),
            b"disks-read-health" => Ok(Request::DisksReadHealth),
            b"disks-use-for-data" => Ok(Request::DisksUseForData),
            b"disks-mirror" => Ok(Request::DisksMirror),
            b"disks-eject" => Ok(Request::DisksEject),
            b"disks-scrub" => Ok(Request::DisksScrub),
            b"disks-free-card-copy" => Ok(Request::DisksFreeCardCopy),
            other => Err(RequestError::Unknown(String::from_utf8_lossy(other).into_owned())),
        }
    }

    /// Its line on the wire.
    pub fn wire(self) -> &'static str {
        match self {
            Request::PowerOff => "power-off",
            Request::Reboot => "reboot",
            Request::UpdateInstallUpload => "update-install-upload",
            Request::UpdateInstallChannel => "update-install-channel",
            Request::UpdateCancel => "update-cancel",
            Request::UpdateCommit => "update-commit",
            Request::UpdateGoBack => "update-go-back",
            Request::DisksRead => "disks-read",
            Request::DisksReadHealth => "disks-read-health",
            Request::DisksUseForData => "disks-use-for-data",
            Request::DisksMirror => "disks-mirror",
            Request::DisksEject => "disks-eject",
            Request::DisksScrub => "disks-scrub",
            Request::DisksFreeCardCopy => "disks-free-card-copy",
        }
    }
}

/// The helper's loop: answer each request line from `input` on `output`, doing it with `act`,
/// until `input` ends.
pub fn serve<R: BufRead, W: Write>(mut input: R, mut output: W, act: &mut dyn FnMut(Request) -> io::Result<()>) -> io::Result<()> {
    loop {
        let mut line = Vec::new();
        let n = (&mut input).take(MAX_LINE as u64 + 1).read_until(b'\n', &mut line)?;
        if n == 0 {
            return Ok(());
        }
        let answer = if line.last() == Some(&b'\n') {
            line.pop();
            match Request::parse(&line) {
                Ok(request) => match act(request) {
                    Ok(()) => "ok".to_string(),
                    Err(e) => format!("failed: {e}"),
                },
                Err(e) => format!("refused: {e}"),
            }
        } else if line.len() > MAX_LINE {
            // Skip to the end of the overlong line, bounded reads all the way.
            loop {
                let mut rest = Vec::new();
                let m = (&mut input).take(4096).read_until(b'\n', &mut rest)?;
                if m == 0 {
                    return Ok(());
                }
                if rest.last() == Some(&b'\n') {
                    break;
                }
            }
            format!("refused: {}", RequestError::TooLong)
        } else {
            // The input ended inside a line: nothing was asked.
            return Ok(());
        };
        writeln!(output, "{}", answer.replace('\n', " "))?;
        output.flush()?;
    }
}

/// The daemon's side: the running helper.
#[derive(Debug)]
pub struct Helper {
    pipes: Mutex<(ChildStdin, BufReader<ChildStdout>)>,
    _child: Child,
}

impl Helper {
    /// Start `program` with `args` as the helper (it inherits this process's credentials, so
    /// call this before dropping them).
    pub fn spawn(program: &Path, args: &[&str]) -> io::Result<Helper> {
        let mut child = Command::new(program).args(args).stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::inherit()).spawn()?;
        let stdin = child.stdin.take().ok_or_else(|| io::Error::other("the helper has no stdin"))?;
        let stdout = child.stdout.take().ok_or_else(|| io::Error::other("the helper has no stdout"))?;
        Ok(Helper { pipes: Mutex::new((stdin, BufReader::new(stdout))), _child: child })
    }

    /// Ask for `request` and wait for the answer.
    pub fn ask(&self, request: Request) -> io::Result<()> {
        let mut pipes = self.pipes.lock().map_err(|_| io::Error::other("the helper's pipes were poisoned"))?;
        let (stdin, stdout) = &mut *pipes;
        writeln!(stdin, "{}", request.wire())?;
        stdin.flush()?;
        let mut answer = String::new();
        (&mut *stdout).take(4096).read_line(&mut answer)?;
        match answer.trim_end() {
            "ok" => Ok(()),
            "" => Err(io::Error::other("the privileged helper is gone")),
            other => Err(io::Error::other(format!("the privileged helper: {other}"))),
        }
    }
}

impl Power for Helper {
    fn power_off(&self) -> io::Result<()> {
        self.ask(Request::PowerOff)
    }

    fn reboot(&self) -> io::Result<()> {
        self.ask(Request::Reboot)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(input: &[u8]) -> (String, Vec<Request>) {
        let mut done = Vec::new();
        let mut out = Vec::new();
        serve(input, &mut out, &mut |r| {
            done.push(r);
            if r == Request::Reboot { Err(io::Error::other("init said no")) } else { Ok(()) }
        })
        .expect("serve");
        (String::from_utf8(out).expect("utf8"), done)
    }

    #[test]
    fn answers_the_known_requests_and_refuses_the_rest() {
        let long = format!("{}\n", "x".repeat(10_000));
        let input = format!("power-off\nreboot\nrm -rf /\n\n{long}power-off \npower-off\nreboot");
        let (out, done) = run(input.as_bytes());
        assert_eq!(
            out,
            "ok\nfailed: init said no\nrefused: \"rm -rf /\" is not a request the helper knows\nrefused: \"\" is not a request the helper knows\n\
             refused: the request is longer than 64 bytes\nrefused: \"power-off \" is not a request the helper knows\nok\n"
        );
        // The last line has no newline: the input ended inside it, nothing was done.
        assert_eq!(done, [Request::PowerOff, Request::Reboot, Request::PowerOff]);
    }

    #[test]
    fn the_daemon_side_talks_to_a_helper_process() {
        // A stand-in helper that answers like the real one: `ok` to the first line, then a refusal.
        let helper =
            Helper::spawn(Path::new("/bin/sh"), &["-c", "read a; echo ok; read b; echo \"refused: $b is not a request the helper knows\""])
                .expect("spawn");
        helper.power_off().expect("ok");
        let e = helper.reboot().expect_err("refused");
        assert!(e.to_string().contains("refused"), "{e}");
        let e = helper.reboot().expect_err("gone");
        assert!(e.to_string().contains("gone") || e.kind() == io::ErrorKind::BrokenPipe, "{e}");
    }
}
