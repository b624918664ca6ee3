//! The clock service, on the appliance only (a developer's machine keeps its own clock): the
//! board's clock set from the NTP servers the DHCP lease named, then those of
//! `clock.ntp_servers` (`hearth_platform::timekeeping`), at start and every quarter of an hour,
//! every 30 s until a server first answers; and the time saved to DATA/system/clock, which the
//! image's rcS starts the clock from at the next boot, so a power cut loses little.

use std::path::PathBuf;
use std::time::Duration;

use hearth_core::Shutdown;
use hearth_core::service::{BoxFuture, ReadySignal, Service, ServiceFailure};
use hearth_platform::timekeeping::{self, Synced};

const EVERY: Duration = Duration::from_secs(15 * 60);
const UNTIL_FIRST_ANSWER: Duration = Duration::from_secs(30);

/// The service.
pub struct ClockKeeper {
    data_dir: PathBuf,
    configured: Vec<String>,
}

impl ClockKeeper {
    /// Keep the clock, saving it under `data_dir`; `configured` servers (`clock.ntp_servers`)
    /// are asked after the DHCP lease's.
    pub fn new(data_dir: PathBuf, configured: Vec<String>) -> Self {
        ClockKeeper { data_dir, configured }
    }
}

impl Service for ClockKeeper {
    fn name(&self) -> &'static str {
        "clock"
    }

    fn run<'a>(&'a self, shutdown: Shutdown, ready: ReadySignal) -> BoxFuture<'a, Result<(), ServiceFailure>> {
        Box::pin(async move {
            ready.ready();
            let mut answered = false;
            loop {
                let mut servers = timekeeping::servers(std::path::Path::new(timekeeping::DHCP_SERVERS_FILE));
                servers.extend(self.configured.iter().filter(|s| !servers.contains(s)).cloned().collect::<Vec<_>>());
                let known = !servers.is_empty();
                let asked = tokio::task::spawn_blocking(move || timekeeping::sync_once(&servers, true)).await;
                match asked {
                    Ok(Ok(Synced::Stepped { server, offset })) => {
                        tracing::info!(%server, offset_s = offset, "the clock was set from NTP");
                        answered = true;
                    }
                    Ok(Ok(Synced::Agreed { server, offset } | Synced::WouldStep { server, offset })) => {
                        tracing::debug!(%server, offset_s = offset, "the clock agrees with NTP");
                        answered = true;
                    }
                    Ok(Err(e)) if known => tracing::info!(error = %e, "no NTP server answered; the clock runs on from the saved time"),
                    Ok(Err(e)) => tracing::debug!(error = %e, "no NTP server to ask; the clock runs on from the saved time"),
                    Err(e) => tracing::warn!(error = %e, "asking NTP stopped"),
                }
                let saved = self.data_dir.join("system/clock");
                if let Ok(Err(e)) = tokio::task::spawn_blocking(move || timekeeping::save(&saved)).await {
                    tracing::warn!(error = %e, "the clock could not be saved");
                }
                tokio::select! {
                    _ = shutdown.wait() => return Ok(()),
                    _ = tokio::time::sleep(if answered { EVERY } else { UNTIL_FIRST_ANSWER }) => {}
                }
            }
        })
    }
}
