//! The backup service in-process, the way the `backup` worker drives it: a box's data folder
//! with its live catalog, a folder target (a USB disk), jobs run to their end, interrupted and
//! continued, drills that pass and one that catches a damaged pack, restores into a new folder
//! and back in place, and the scheduler.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use hearth_backup::commands::ls;
use hearth_backup::keyfile::Kdf;
use hearth_backup::service::Service;
use hearth_backup::service::restore::{Destination, RestoreRequest};
use hearth_backup::service::target::{RepositoryState, TargetSecret, TargetSpec};
use hearth_catalog::Catalog;
use hearth_catalog::backups::{self, RunFilter, RunKind, RunRow, RunState};

struct BoxFixture {
    _dir: tempfile::TempDir,
    data: PathBuf,
    usb: PathBuf,
    catalog: Arc<Catalog>,
    service: Service,
}

fn now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("clock").as_secs() as i64
}

impl BoxFixture {
    fn new() -> BoxFixture {
        let dir = tempfile::tempdir().expect("tempdir");
        let data = fs::canonicalize(dir.path()).expect("canonical").join("data");
        let usb = data.parent().expect("parent").join("usb");
        fs::create_dir_all(&usb).expect("usb");
        for d in ["library/1", "users/ada/files/Documents", "cache/thumbs/ab", "sync"] {
            fs::create_dir_all(data.join(d)).expect("mkdir");
        }
        fs::write(data.join("library/1/IMG_1.jpg"), vec![7u8; 300_000]).expect("photo");
        fs::write(data.join("library/1/IMG_2.jpg"), b"second photo").expect("photo");
        fs::write(data.join("library/1/empty.txt"), b"").expect("empty");
        fs::write(data.join("users/ada/files/Documents/letter ü.txt"), b"Dear family").expect("doc");
        fs::write(data.join("cache/thumbs/ab/t-250.jpg"), b"thumbnail").expect("thumb");
        fs::write(data.join("sync/cert.pem"), b"identity").expect("identity");
        let (catalog, _) = Catalog::open(&data.join("hearth.db")).expect("catalog");
        catalog.write(|tx| hearth_catalog::settings::set(tx, "device_id", "ABCDEFG-1234567")).expect("device id");
        let catalog = Arc::new(catalog);
        let service = Service::new(catalog.clone(), &data).expect("service");
        BoxFixture { _dir: dir, data, usb, catalog, service }
    }

    /// Password, a USB target and a nightly job of everything.
    fn set_up(&self) -> (i64, i64) {
        let shown = self.service.set_up_password(None).expect("password").expect("a recovery key is shown");
        assert_eq!(shown.len(), 35, "{shown}");
        let spec = TargetSpec::Folder { path: self.usb.join("hearth") };
        let (target, state) =
            self.service.add_target("USB disk", spec, &TargetSecret::default(), Kdf::for_tests().expect("kdf"), now()).expect("target");
        assert_eq!(state, RepositoryState::Empty);
        let job = self.service.add_job("Everything", target, None, None, None, now()).expect("job");
        (target, job)
    }

    /// Claim the next run and work it.
    fn work(&self, cancel: bool) -> RunRow {
        let run = self.catalog.write(|tx| backups::claim_next(tx, now())).expect("claim").expect("a queued run");
        let flag = Arc::new(AtomicBool::new(cancel));
        self.service.execute(&run, &flag).expect("recorded");
        self.catalog.read(|r| backups::run(r, run.id)).expect("read").expect("run")
    }

    fn backup(&self, job: i64) -> RunRow {
        self.service.request_backup(job, None, now()).expect("queue");
        self.work(false)
    }
}

fn listed(f: &BoxFixture, target: i64, snapshot: &str) -> Vec<String> {
    let t = f.service.target(target).expect("target");
    let repo = f.service.open_repository(&t).expect("open");
    ls::run(&repo, snapshot, None).expect("ls").into_iter().map(|e| e.path.display().to_string()).collect()
}

#[test]
fn a_job_backs_up_the_box_with_a_catalog_copy_and_without_caches() {
    let f = BoxFixture::new();
    let (target, job) = f.set_up();
    let run = f.backup(job);
    assert_eq!(run.state, RunState::Succeeded, "{:?}", run.message);
    assert!(run.message.as_deref().is_some_and(|m| m.contains("new")), "{:?}", run.message);
    assert!(run.files_total.is_some_and(|t| t >= 5), "totals counted: {run:?}");
    assert_eq!(Some(run.files_done), run.files_total, "progress reached the total");
    let snapshot = run.snapshot.clone().expect("snapshot");
    let paths = listed(&f, target, &snapshot);
    for want in [
        "/data/library/1/IMG_1.jpg",
        "/data/library/1/empty.txt",
        "/data/users/ada/files/Documents/letter ü.txt",
        "/data/sync/cert.pem",
        "/data/backup/catalog/hearth.db",
        "/data/secrets/backup-credentials.key",
    ] {
        assert!(paths.iter().any(|p| p == want), "{want} missing from {paths:#?}");
    }
    for unwanted in ["/data/hearth.db", "/data/hearth.db-wal", "/data/cache"] {
        assert!(!paths.iter().any(|p| p == unwanted), "{unwanted} must be left out");
    }
    // The catalog copy opens (elsewhere, so the test leaves no files beside it) and knows the job.
    let elsewhere = f.usb.join("copy.db");
    fs::copy(f.data.join("backup/catalog/hearth.db"), &elsewhere).expect("copy");
    let copy = Catalog::open(&elsewhere).expect("copy opens").0;
    assert_eq!(copy.read(backups::jobs).expect("jobs").len(), 1);

    // A second run reads only what changed; the first snapshot, of the same day, is forgotten
    // by the daily rule.
    let first = listed(&f, target, &snapshot);
    fs::write(f.data.join("library/1/IMG_2.jpg"), b"second photo, edited").expect("edit");
    fs::write(f.data.join("library/1/IMG_3.jpg"), b"third").expect("new");
    let again = f.backup(job);
    assert_eq!(again.state, RunState::Succeeded);
    let detail: serde_json::Value = serde_json::from_str(again.detail.as_deref().expect("detail")).expect("json");
    let second = listed(&f, target, again.snapshot.as_deref().expect("snapshot"));
    let new: Vec<&String> = second.iter().filter(|p| !first.contains(p)).collect();
    assert!(again.message.as_deref().is_some_and(|m| m.contains("1 old snapshot(s) forgotten")), "{:?}", again.message);
    assert_eq!(detail["files_new"], 1, "{detail} {new:?}");
    assert!(detail["files_changed"].as_u64().is_some_and(|n| n >= 1), "{detail}");
    let history = f.catalog.read(|r| backups::runs(r, RunFilter { job_id: Some(job), ..Default::default() }, 10)).expect("history");
    assert_eq!(history.len(), 2);
}

#[test]
fn an_interrupted_backup_is_continued_and_a_missing_disk_is_reported() {
    let f = BoxFixture::new();
    let (_target, job) = f.set_up();
    f.service.request_backup(job, None, now()).expect("queue");
    let cut = f.work(true);
    assert_eq!(cut.state, RunState::Interrupted, "{:?}", cut.message);
    let next = f.work(false);
    assert_eq!(next.state, RunState::Succeeded, "{:?}", next.message);
    assert!(next.message.is_some());
    // The disk is unplugged: the run fails clearly and nothing is written to the card.
    fs::rename(f.usb.join("hearth"), f.usb.join("elsewhere")).expect("unplug");
    let failed = f.backup(job);
    assert_eq!(failed.state, RunState::Failed);
    assert!(failed.message.as_deref().is_some_and(|m| m.contains("plugged in")), "{:?}", failed.message);
    assert!(!f.usb.join("hearth").exists(), "no new repository was made in the disk's place");
}

#[test]
fn drills_pass_then_catch_a_damaged_pack() {
    let f = BoxFixture::new();
    let (target, job) = f.set_up();
    f.service.request_verification(target, RunKind::Drill, None, now()).expect("queue");
    let empty = f.work(false);
    assert_eq!(empty.state, RunState::Succeeded);
    assert!(empty.message.as_deref().is_some_and(|m| m.contains("nothing to verify")), "{:?}", empty.message);
    assert_eq!(f.backup(job).state, RunState::Succeeded);
    f.service.request_verification(target, RunKind::Drill, None, now()).expect("queue");
    let good = f.work(false);
    assert_eq!(good.state, RunState::Succeeded, "{:?}", good.message);
    assert!(good.message.as_deref().is_some_and(|m| m.contains("all identical")), "{:?}", good.message);
    f.service.request_verification(target, RunKind::Check, None, now()).expect("queue");
    assert_eq!(f.work(false).state, RunState::Succeeded);

    // Damage the biggest pack (the photo's data) on the disk.
    let mut packs: Vec<(u64, PathBuf)> =
        walk(&f.usb.join("hearth/data")).into_iter().map(|p| (fs::metadata(&p).expect("m").len(), p)).collect();
    packs.sort();
    let (_, pack) = packs.last().expect("a pack");
    let mut bytes = fs::read(pack).expect("read pack");
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0x55;
    fs::write(pack, bytes).expect("damage");
    f.service.request_verification(target, RunKind::Drill, None, now()).expect("queue");
    let bad = f.work(false);
    assert_eq!(bad.state, RunState::Failed, "{:?}", bad.message);
    assert!(bad.message.as_deref().is_some_and(|m| m.contains("IMG_1.jpg") || m.contains("damaged")), "{:?}", bad.message);
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in fs::read_dir(dir).into_iter().flatten().flatten() {
        if e.file_type().is_ok_and(|t| t.is_dir()) {
            out.extend(walk(&e.path()));
        } else {
            out.push(e.path());
        }
    }
    out
}

#[test]
fn restores_go_to_a_new_folder_or_back_in_place_without_overwriting() {
    let f = BoxFixture::new();
    let (target, job) = f.set_up();
    let snapshot = f.backup(job).snapshot.expect("snapshot");
    let request = |path: &str, destination| RestoreRequest { snapshot: snapshot.clone(), path: Some(path.into()), destination };
    f.service.request_restore(target, request("/data/library", Destination::NewFolder), None, now()).expect("queue");
    let run = f.work(false);
    assert_eq!(run.state, RunState::Succeeded, "{:?}", run.message);
    let restored = fs::read_dir(f.data.join("restored")).expect("restored").flatten().next().expect("one folder").path();
    assert_eq!(fs::read(restored.join("library/1/IMG_2.jpg")).expect("photo"), b"second photo");

    // Edited and deleted since: back in place, the edit is kept beside.
    fs::write(f.data.join("library/1/IMG_2.jpg"), b"edited").expect("edit");
    fs::remove_file(f.data.join("library/1/IMG_1.jpg")).expect("delete");
    f.service.request_restore(target, request("/data/library/1", Destination::InPlace), None, now()).expect("queue");
    let run = f.work(false);
    assert_eq!(run.state, RunState::Succeeded, "{:?}", run.message);
    assert_eq!(fs::read(f.data.join("library/1/IMG_2.jpg")).expect("back"), b"second photo");
    assert_eq!(fs::read(f.data.join("library/1/IMG_1.jpg")).expect("back").len(), 300_000);
    let beside: Vec<String> = fs::read_dir(f.data.join("library/1"))
        .expect("dir")
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains("before restore"))
        .collect();
    assert_eq!(beside.len(), 1, "{beside:?}");
    assert_eq!(fs::read(f.data.join("library/1").join(&beside[0])).expect("kept"), b"edited");

    // One file back in place.
    fs::remove_file(f.data.join("users/ada/files/Documents/letter ü.txt")).expect("delete");
    f.service
        .request_restore(target, request("/data/users/ada/files/Documents/letter ü.txt", Destination::InPlace), None, now())
        .expect("queue");
    assert_eq!(f.work(false).state, RunState::Succeeded);
    assert_eq!(fs::read(f.data.join("users/ada/files/Documents/letter ü.txt")).expect("back"), b"Dear family");
    // Something that is not in the snapshot.
    f.service.request_restore(target, request("/data/nothing-here", Destination::NewFolder), None, now()).expect("queue");
    let missing = f.work(false);
    assert_eq!(missing.state, RunState::Failed);
    assert!(missing.message.as_deref().is_some_and(|m| m.contains("not in the snapshot")), "{:?}", missing.message);
}

#[test]
fn the_scheduler_queues_due_jobs_once_and_replans_after_a_clock_jump() {
    let f = BoxFixture::new();
    let (target, job) = f.set_up();
    let t0 = now();
    let planned = f.catalog.read(|r| backups::job(r, job)).expect("job").expect("row").next_run_at.expect("planned");
    assert!(planned > t0 && planned <= t0 + 86400 + 3600, "nightly: {planned} vs {t0}");
    assert_eq!(f.service.queue_due(t0).expect("due"), 0, "nothing due yet");
    // Two days later (the box was off): one run, not two.
    let later = planned + 2 * 86400;
    assert_eq!(f.service.queue_due(later).expect("due"), 1, "the job");
    assert_eq!(f.service.queue_due(later + 1).expect("due"), 0);
    let next = f.catalog.read(|r| backups::job(r, job)).expect("job").expect("row").next_run_at.expect("planned");
    assert!(next > later);
    // A month on: the target's drill and its check; the job's run is still waiting, so no second one.
    assert_eq!(f.service.queue_due(t0 + 31 * 86400).expect("due"), 2, "the drill and the check");
    let open = f.catalog.read(|r| backups::runs(r, RunFilter::default(), 10)).expect("runs");
    assert_eq!(open.iter().filter(|r| r.kind == RunKind::Backup).count(), 1);
    // The clock jumped back a year: the plan is made again from the new now.
    let back = t0 - 365 * 86400;
    f.service.queue_due(back).expect("due");
    let replanned = f.catalog.read(|r| backups::job(r, job)).expect("job").expect("row").next_run_at.expect("planned");
    assert!(replanned > back && replanned <= back + 86400 + 3600, "{replanned} vs {back}");
    let t = f.catalog.read(|r| backups::target(r, target)).expect("t").expect("row");
    assert!(t.drill_next_at.is_some_and(|d| d <= back + 8 * 86400));
}

#[test]
fn targets_and_jobs_refuse_bad_input_and_a_second_box_cannot_use_the_repository() {
    let f = BoxFixture::new();
    let spec = TargetSpec::Folder { path: f.usb.join("hearth") };
    let none = TargetSecret::default();
    let kdf = || Kdf::for_tests().expect("kdf");
    let e = f.service.add_target("USB", spec.clone(), &none, kdf(), now()).expect_err("no password yet");
    assert!(e.to_string().contains("backup password"), "{e}");
    f.service.set_up_password(Some("a family password")).expect("chosen");
    assert!(f.service.set_up_password(None).is_err(), "only once");
    assert!(f.service.add_target("", spec.clone(), &none, kdf(), now()).is_err());
    let (t, _) = f.service.add_target("USB", spec.clone(), &none, kdf(), now()).expect("target");
    assert!(f.service.add_target("USB", spec.clone(), &none, kdf(), now()).is_err(), "names are unique");
    assert!(f.service.add_job("j", t, None, Some("every tuesday"), None, now()).is_err());
    assert!(f.service.add_job("j", 999, None, None, None, now()).is_err());
    let j = f.service.add_job("j", t, None, Some("manual"), None, now()).expect("manual job");
    assert_eq!(f.catalog.read(|r| backups::job(r, j)).expect("j").expect("row").next_run_at, None);

    // Another box (its own password) is refused the same folder.
    let other = BoxFixture::new();
    other.service.set_up_password(Some("another family's password")).expect("pw");
    let e = other.service.add_target("USB", spec, &none, kdf(), now()).expect_err("foreign");
    assert!(e.to_string().contains("does not open"), "{e}");
    // Credentials are sealed in the catalog.
    let s3 = TargetSpec::S3 {
        endpoint: "http://127.0.0.1:1".into(),
        bucket: "family".into(),
        prefix: String::new(),
        region: "us-east-1".into(),
        access_key_id: "AKIDEXAMPLE".into(),
    };
    let secret = TargetSecret { password: None, secret_access_key: Some("wJalrXUtnFEMI".into()) };
    assert!(f.service.add_target("S3", s3, &secret, kdf(), now()).is_err(), "unreachable endpoint: not saved");
    assert_eq!(f.catalog.read(backups::targets).expect("targets").len(), 1);
}
