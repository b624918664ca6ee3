//! `hearthd privileged-helper`: root's side of `hearth_platform::privileged_helper`, started by
//! the appliance's hearthd before it drops root. Every request is said on the console.
//!
//! Updates are installed here, as root, in a thread of the helper (docs/updates.md): the daemon
//! puts an upload or an offer in its update folder and asks; the helper checks the bundle's
//! signature against the image's keys itself and writes the other slot and the boot state. The
//! install's record goes to [`RECORD`], which the daemon reads. Disks are read here too (their
//! first bytes and smartctl need root), into `hearth_disks::service::HELPER_INVENTORY`, and a disk
//! the family gives the data is partitioned and formatted here (`hearth_disks::data_disk`).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use hearth_disks::data_disk;
use hearth_disks::data_home::DataHomeRecord;
use hearth_ota::channel::Client;
use hearth_ota::layout::Layout;
use hearth_ota::runner::{Runner, Source};
use hearth_ota::updates;
use hearth_platform::power::{BusyboxInit, Power};
use hearth_platform::privileged_helper::{Request, serve};

/// The boot partition's mount (read-only but for a moment's write).
const BOOT: &str = "/run/hearth/boot";

/// Where the helper keeps the install's record (a folder only root writes).
pub const RECORD: &str = "/run/hearth/update/record.json";

/// The helper's flags.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The daemon's data folder (its update folder is DATA/system/update).
    #[arg(long, default_value = "/data")]
    pub data: PathBuf,
    /// The board's name (a bundle must name it).
    #[arg(long, default_value = "")]
    pub board: String,
}

/// The update folder of a data folder.
pub fn update_dir(data: &Path) -> PathBuf {
    data.join("system/update")
}

fn appliance_layout(board: &str) -> std::io::Result<Layout> {
    Layout::of_this_appliance(board).map_err(|e| std::io::Error::other(e.to_string()))
}

/// Serve the daemon's requests until it goes.
pub fn main(args: &Args) -> ExitCode {
    let init = BusyboxInit;
    let runner = Runner::default();
    let dir = update_dir(&args.data);
    hearth_ota::runner::close_interrupted(Path::new(RECORD));
    // Kept across requests: it remembers each disk's health between smartctl readings.
    let disks = hearth_disks::service::Disks::default();
    let mut act = |request: Request| {
        eprintln!("hearthd privileged helper: {} (asked by hearthd)", request.wire());
        let ota = |e: hearth_ota::OtaError| std::io::Error::other(e.to_string());
        match request {
            Request::PowerOff => init.power_off(),
            Request::Reboot => init.reboot(),
            Request::UpdateInstallUpload | Request::UpdateInstallChannel => {
                let layout = appliance_layout(&args.board)?;
                let source = match request {
                    Request::UpdateInstallUpload => Source::File(dir.join(updates::UPLOAD)),
                    _ => updates::read_offer(&dir).map_err(ota)?,
                };
                std::fs::create_dir_all(Path::new(RECORD).parent().unwrap_or(Path::new("/run")))?;
                runner.start(layout, source, Client::new(), PathBuf::from(RECORD)).map_err(ota)
            }
            Request::UpdateCancel => {
                runner.cancel();
                Ok(())
            }
            // The boot state is written by one install at a time, and by nothing else meanwhile.
            Request::UpdateCommit | Request::UpdateGoBack if runner.busy() => {
                Err(std::io::Error::other("an update is being installed into the other slot"))
            }
            Request::UpdateCommit => hearth_ota::install::commit(&appliance_layout(&args.board)?).map(|_| ()).map_err(ota),
            Request::UpdateGoBack => hearth_ota::install::go_back(&appliance_layout(&args.board)?).map(|_| ()).map_err(ota),
            Request::DisksRead => disks.write_for_daemon(Path::new(hearth_disks::service::HELPER_INVENTORY)),
            Request::DisksUseForData => {
                let places = data_disk::Places {
                    sys: "/sys".into(),
                    dev: "/dev".into(),
                    mountinfo: "/proc/self/mountinfo".into(),
                    data: args.data.clone(),
                };
                let uuid = data_disk::prepare(&places, &DataHomeRecord::on_read_only_mount(BOOT)).map_err(std::io::Error::other)?;
                eprintln!("hearthd privileged helper: file system {uuid} made for the data; the next start copies the data to it");
                Ok(())
            }
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
