//! `hearthd privileged-helper`: root's side of `hearth_platform::privileged_helper`, started by
//! the appliance's hearthd before it drops root. Every request is said on the console.

use std::process::ExitCode;

use hearth_platform::power::{BusyboxInit, Power};
use hearth_platform::privileged_helper::{Request, serve};

/// Serve the daemon's requests until it goes.
pub fn main() -> ExitCode {
    let init = BusyboxInit;
    let mut act = |request: Request| {
        eprintln!("hearthd privileged helper: {} (asked by hearthd)", request.wire());
        match request {
            Request::PowerOff => init.power_off(),
            Request::Reboot => init.reboot(),
        }
    };
    match serve(std::io::stdin().lock(), std::io::stdout().lock(), &mut act) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("hearthd privileged helper: {e}");
            ExitCode::from(2)
        }
    }
}
