//! Video posters: one frame, a second in (the very first is often black), taken by Debian's
//! `ffmpeg` in a child process under time and address-space limits, turned upright by ffmpeg
//! (its autorotate follows the display matrix), scaled to fit the viewing size and handed over
//! as a JPEG on stdout; the thumbnails are then made from it like from any JPEG.

use std::path::Path;
use std::time::Duration;

use hearth_platform::child::{self, ChildError, Limits};

use super::{ThumbnailError, VIEW};

/// The program.
pub const FFMPEG: &str = "ffmpeg";
/// Its limits: one decoder thread, a few frames decoded.
pub const LIMITS: Limits = Limits { time: Duration::from_secs(120), address_space: 3 << 29 };

/// The poster of the video at `path` as an upright JPEG at most [`VIEW`] px on its long edge.
pub(super) fn poster(path: &Path) -> Result<Vec<u8>, ThumbnailError> {
    // A video shorter than the seek gives no frame at 1 s: then the first frame.
    for seek in ["1", "0"] {
        // Fit inside VIEW × VIEW, never enlarged.
        let fit = format!("scale=w='min({VIEW},iw)':h='min({VIEW},ih)':force_original_aspect_ratio=decrease");
        let args: [&std::ffi::OsStr; 20] = [
            "-v".as_ref(),
            "error".as_ref(),
            "-threads".as_ref(),
            "1".as_ref(),
            "-ss".as_ref(),
            seek.as_ref(),
            "-i".as_ref(),
            path.as_os_str(),
            "-an".as_ref(),
            "-frames:v".as_ref(),
            "1".as_ref(),
            "-vf".as_ref(),
            fit.as_ref(),
            "-f".as_ref(),
            "image2pipe".as_ref(),
            "-c:v".as_ref(),
            "mjpeg".as_ref(),
            "-q:v".as_ref(),
            "2".as_ref(),
            "-".as_ref(),
        ];
        match child::run(FFMPEG, &args, LIMITS) {
            Ok(out) if !out.stdout.is_empty() => return Ok(out.stdout),
            Ok(_) => continue,
            Err(ChildError::Missing { .. }) => {
                return Err(ThumbnailError::Decode(format!("videos need {FFMPEG} (Debian package ffmpeg), which is not installed")));
            }
            Err(ChildError::Failed { stderr, .. }) => {
                return Err(ThumbnailError::Decode(stderr.lines().last().unwrap_or("ffmpeg failed").to_string()));
            }
            Err(e) => return Err(ThumbnailError::Decode(e.to_string())),
        }
    }
    Err(ThumbnailError::Decode("the video has no frame to show".into()))
}
