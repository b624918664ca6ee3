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

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use hearth_disks::data_home::DataHomeRecord;
use hearth_disks::service::{HELPER_EJECT_OUTCOME, HELPER_SCRUBBING, Health};
use hearth_disks::{card_copy, data_disk, eject, pool};
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
    let places = data_disk::Places::of_appliance(&args.data);
    let record = DataHomeRecord::on_read_only_mount(BOOT);
    let scrubbing = Arc::new(AtomicBool::new(false));
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
            Request::DisksRead | Request::DisksReadHealth => {
                let health = if request == Request::DisksRead { Health::Kept } else { Health::Fresh };
                let inventory = disks.write_for_daemon(Path::new(hearth_disks::service::HELPER_INVENTORY), health)?;
                // Each read (the quick one of the two) also looks after the data's pool: chunks
                // with one copy on a pool of two disks (after a replace, or writes while
                // degraded) are converted.
                if health == Health::Kept
                    && let Some(said) = pool::tend(&places, &record, &inventory)
                {
                    eprintln!("hearthd privileged helper: the data's pool: {said}");
                }
                Ok(())
            }
            Request::DisksUseForData => {
                let uuid = data_disk::prepare(&places, &record).map_err(std::io::Error::other)?;
                eprintln!("hearthd privileged helper: file system {uuid} made for the data; the next start copies the data to it");
                Ok(())
            }
            Request::DisksMirror => pool::change(&places, &record).map_err(std::io::Error::other),
            Request::DisksEject => {
                let outcome = eject::eject(&places, Path::new("/proc"));
                if let Err(e) = &outcome {
                    eprintln!("hearthd privileged helper: not ejected: {e}");
                }
                let json = serde_json::to_vec(&outcome).map_err(std::io::Error::other)?;
                hearth_platform::durable::write_atomic(Path::new(HELPER_EJECT_OUTCOME), &json, 0o644)
            }
            Request::DisksScrub => start_scrub(&places, &scrubbing),
            Request::DisksFreeCardCopy => {
                // Which partition holds the card's copy, as prepare-data found it at this start.
                let status = crate::prepare_data::read_status(Path::new(crate::prepare_data::STATUS)).map_err(std::io::Error::other)?;
                let partition = status.home.card_partition.ok_or_else(|| std::io::Error::other("the data does not live on a disk"))?;
                card_copy::free(Path::new(&partition), Path::new(card_copy::OLD_CARD), &record).map_err(std::io::Error::other)?;
                eprintln!("hearthd privileged helper: the card's copy of the data on {partition} was emptied");
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

/// Scrub the data's pool on a thread of its own (hours for a big disk), one scrub at a time;
/// [`HELPER_SCRUBBING`] says so meanwhile.
fn start_scrub(places: &data_disk::Places, scrubbing: &Arc<AtomicBool>) -> std::io::Result<()> {
    if scrubbing.swap(true, Ordering::SeqCst) {
        return Err(std::io::Error::other("a scrub is running already"));
    }
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0);
    let _ = std::fs::write(HELPER_SCRUBBING, now.to_string());
    let (places, flag) = (places.clone(), scrubbing.clone());
    let started = std::thread::Builder::new().name("scrub".into()).spawn(move || {
        let record = pool::scrub(&places, now);
        eprintln!(
            "hearthd privileged helper: scrub {}: {} MiB checked, {} errors ({} corrected, {} not correctable) in {} s",
            record.status,
            record.bytes >> 20,
            record.errors,
            record.corrected,
            record.uncorrectable,
            record.seconds
        );
        let _ = std::fs::remove_file(HELPER_SCRUBBING);
        flag.store(false, Ordering::SeqCst);
    });
    if let Err(e) = started {
        let _ = std::fs::remove_file(HELPER_SCRUBBING);
        scrubbing.store(false, Ordering::SeqCst);
        return Err(e);
    }
    Ok(())
}
