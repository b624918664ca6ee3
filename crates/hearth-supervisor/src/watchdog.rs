//! Feeding the hardware watchdog. The feeding task runs on the same runtime as everything else,
//! so a wedged runtime stops feeding and the board resets, which is the point.

use std::path::Path;
use std::time::Duration;

use hearth_core::Shutdown;
use hearth_platform::watchdog::Watchdog;

/// How often to feed; watchdogs default to 15 s or more.
pub const FEED_EVERY: Duration = Duration::from_secs(5);

/// Open `device` and feed it until `shutdown`; then disarm it. Returns at once when there is no
/// device.
pub async fn run(device: &Path, shutdown: Shutdown, every: Duration) {
    let mut dog = match Watchdog::open(device) {
        Ok(Some(d)) => d,
        Ok(None) => {
            tracing::debug!(device = %device.display(), "no hardware watchdog");
            return;
        }
        Err(e) => {
            tracing::warn!(device = %device.display(), error = %e, "cannot open the hardware watchdog");
            return;
        }
    };
    tracing::info!(device = %dog.path().display(), "feeding the hardware watchdog");
    loop {
        if let Err(e) = dog.feed() {
            tracing::warn!(error = %e, "feeding the watchdog failed");
        }
        tokio::select! {
            _ = shutdown.wait() => break,
            _ = tokio::time::sleep(every) => {}
        }
    }
    if let Err(e) = dog.disarm() {
        tracing::warn!(error = %e, "disarming the watchdog failed; the board may reset");
    }
}
