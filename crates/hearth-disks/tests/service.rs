//! The disks service against the real kernel: a block-device uevent (written to a device's
//! `uevent` file, which makes the kernel announce it; needs root, as scripts/test runs) makes the
//! service read the inventory again; shutdown stops it and its uevent thread.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use hearth_core::service::{ReadySignal, Service, StatusBoard};
use hearth_disks::service::{Disks, DisksService, Health, Sources};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kernel_uevent_makes_the_service_read_the_disks_again() {
    // Any block device the kernel has will do; a loop device is the least disturbing.
    let mut names: Vec<String> =
        std::fs::read_dir("/sys/block").expect("/sys/block").filter_map(|e| e.ok()?.file_name().into_string().ok()).collect();
    names.sort_by_key(|n| !n.starts_with("loop"));
    let device = names.first().expect("a block device").clone();
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/sys-rpi4");
    let disks = Arc::new(Disks::new(Sources {
        sys: fixture,
        dev: "/nonexistent".into(),
        mountinfo: "/proc/self/mountinfo".into(),
        smartctl: "/nonexistent/smartctl".into(),
    }));
    let mut reads = disks.reads();
    let (trigger, shutdown) = hearth_core::shutdown::channel();
    let service = DisksService(disks.clone());
    let board = StatusBoard::new();
    let running = tokio::spawn(async move { service.run(shutdown, ReadySignal::new(board, "disks")).await });

    // The first read, at start, in two passes: the disks at once, then their health asked.
    tokio::time::timeout(Duration::from_secs(60), reads.wait_for(|&n| n >= 2)).await.expect("read at start").expect("reads");
    let inventory = disks.current();
    assert_eq!(inventory.disks.len(), 4, "the recorded Pi's disks");
    assert!(inventory.disks[0].health.is_none(), "an SD card has no SMART");
    let usb = inventory.disks[2].health.as_ref().expect("the USB disk's health was asked for");
    assert!(usb.unavailable.as_deref().is_some_and(|m| m.contains("not installed")), "{usb:?}");
    // Until the service's thread listens, a uevent may be missed: announce until it is heard.
    let heard = async {
        loop {
            std::fs::write(format!("/sys/block/{device}/uevent"), "change")
                .expect("writing a uevent needs root (scripts/test runs as root)");
            if tokio::time::timeout(Duration::from_secs(2), reads.wait_for(|&n| n >= 3)).await.is_ok() {
                return;
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(60), heard).await.expect("the service read the disks again after a uevent");
    trigger.fire();
    let outcome = tokio::time::timeout(Duration::from_secs(30), running).await.expect("the service stops").expect("join");
    assert!(outcome.is_ok(), "{:?}", outcome.err());
}

/// On the appliance the daemon cannot read disks: the privileged helper reads them as root into
/// a file (`Disks::write_for_daemon`) and the daemon reads that. A stand-in helper (a shell
/// loop answering as the real one does) checks the daemon's side; a helper that fails leaves the
/// last inventory in place.
#[test]
fn the_daemon_reads_the_disks_the_helper_wrote() {
    use hearth_platform::privileged_helper::Helper;
    let tmp = tempfile::tempdir().expect("tmp");
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/sys-rpi4");
    let root_side = Disks::new(Sources {
        sys: fixture,
        dev: "/nonexistent".into(),
        mountinfo: "/nonexistent".into(),
        smartctl: "/nonexistent/smartctl".into(),
    });
    let file = tmp.path().join("run/disks.json");
    root_side.write_for_daemon(&file, Health::Fresh).expect("written as the helper writes it");
    let answers_ok = Helper::spawn(Path::new("/bin/sh"), &["-c", "while read r; do echo ok; done"]).expect("stand-in helper");
    let daemon_side = Disks::through_helper(Arc::new(answers_ok), file.clone());
    daemon_side.refresh();
    assert_eq!(*daemon_side.current(), root_side.read_here(Health::Fresh));
    assert_eq!(daemon_side.current().disks.len(), 4);

    let refuses = Helper::spawn(Path::new("/bin/sh"), &["-c", "while read r; do echo 'failed: no'; done"]).expect("stand-in helper");
    std::fs::write(&file, b"{}").expect("a file the helper did not mean");
    let failing = Disks::through_helper(Arc::new(refuses), file);
    failing.refresh();
    assert!(failing.current().disks.is_empty(), "nothing read, nothing shown");
}
