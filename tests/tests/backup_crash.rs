//! Crash safety of the backup repository (docs/backup-format.md §12): `hearth backup run` and
//! `hearth backup prune` are killed with SIGKILL at random moments, 50 times each; after every
//! kill `check` must pass and no snapshot may be lost; at the end a complete backup, prune,
//! `check --read-data` and a restore must give back the source byte for byte.
//!
//! The kill moments are random (the seed is printed; HEARTH_CRASH_SEED repeats a run) and spread
//! over the command's measured duration; the assertions hold wherever the kill lands, so the test
//! does not depend on timing.

use std::fs;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use hearth_tests::daemon;

const TRIALS: usize = 50;

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn bytes(&mut self, n: usize) -> Vec<u8> {
        let mut v = Vec::with_capacity(n + 8);
        while v.len() < n {
            v.extend_from_slice(&self.next().to_le_bytes());
        }
        v.truncate(n);
        v
    }
}

fn cmd(repo: &Path, args: &[&str]) -> Command {
    let mut c = Command::new(daemon::hearth());
    c.arg("backup").args(args).arg("--repo").arg(repo).env("HEARTH_BACKUP_PASSWORD", "pw").stdin(Stdio::null());
    c
}

fn run(repo: &Path, args: &[&str]) -> Output {
    cmd(repo, args).output().expect("run hearth")
}

fn ok(out: Output, what: &str) -> String {
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "{what} failed: {text}");
    text
}

/// The snapshots in the repository; a `.tmp-` file a killed writer left is not one (prune may
/// tidy it away).
fn snapshot_names(repo: &Path) -> Vec<String> {
    let mut v: Vec<String> = fs::read_dir(repo.join("snapshots"))
        .expect("ls")
        .map(|e| e.expect("e").file_name().into_string().expect("utf8"))
        .filter(|n| !n.starts_with(".tmp-"))
        .collect();
    v.sort();
    v
}

/// Start `args`, kill it with SIGKILL after `delay` (if still running); whether it finished.
fn kill_after(repo: &Path, args: &[&str], delay: Duration) -> bool {
    let mut child = cmd(repo, args).stdout(Stdio::null()).stderr(Stdio::null()).spawn().expect("spawn");
    let deadline = Instant::now() + delay;
    while Instant::now() < deadline {
        if let Ok(Some(_)) = child.try_wait() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    let _ = child.kill();
    let _ = child.wait();
    false
}

fn timed(repo: &Path, args: &[&str]) -> Duration {
    let t = Instant::now();
    ok(run(repo, args), &args.join(" "));
    t.elapsed()
}

fn change_some(src: &Path, rng: &mut Rng, n: usize) {
    for _ in 0..n {
        let i = rng.next() % 30;
        let size = 200_000 + (rng.next() % 400_000) as usize;
        fs::write(src.join(format!("photo-{i:02}.jpg")), rng.bytes(size)).expect("write");
    }
}

fn same_tree(a: &Path, b: &Path) {
    let names = |p: &Path| {
        let mut v: Vec<_> = fs::read_dir(p).expect("ls").map(|e| e.expect("e").file_name()).collect();
        v.sort();
        v
    };
    assert_eq!(names(a), names(b));
    for n in names(a) {
        assert!(fs::read(a.join(&n)).expect("r") == fs::read(b.join(&n)).expect("r"), "{n:?} differs");
    }
}

fn walk_names(p: &Path) -> Vec<String> {
    let mut out = Vec::new();
    for e in fs::read_dir(p).expect("ls").map(|e| e.expect("entry")) {
        if e.file_type().expect("type").is_dir() {
            out.extend(walk_names(&e.path()));
        } else {
            out.push(e.file_name().to_string_lossy().into_owned());
        }
    }
    out
}

#[test]
fn kill_backup_and_prune_at_random_points() {
    let seed: u64 = std::env::var("HEARTH_CRASH_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or_else(|| {
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos() as u64).unwrap_or(1) | 1
    });
    eprintln!("crash test seed: {seed} (HEARTH_CRASH_SEED={seed} repeats it)");
    let mut rng = Rng(seed);
    let dir = tempfile::tempdir().expect("tmp");
    let (src, repo) = (dir.path().join("src"), dir.path().join("repo"));
    fs::create_dir_all(&src).expect("mkdir");
    change_some(&src, &mut rng, 60);
    fs::write(src.join("diary.txt"), b"dear diary\n".repeat(50_000)).expect("write");
    ok(run(&repo, &["init"]), "init");
    let src_arg = src.to_str().expect("utf8");

    // Backups killed at random points.
    let mut full = timed(&repo, &["run", "--force", src_arg]);
    let mut finished = 0;
    for trial in 0..TRIALS {
        change_some(&src, &mut rng, 4);
        let before = snapshot_names(&repo);
        let delay = Duration::from_micros(rng.next() % (full.as_micros() as u64 * 12 / 10 + 1));
        let args: &[&str] = if trial % 2 == 0 { &["run", src_arg] } else { &["run", "--force", src_arg] };
        if kill_after(&repo, args, delay) {
            finished += 1;
        }
        let after = snapshot_names(&repo);
        assert!(before.iter().all(|s| after.contains(s)), "trial {trial}: a snapshot disappeared");
        let check = if trial % 10 == 9 { run(&repo, &["check", "--read-data"]) } else { run(&repo, &["check"]) };
        ok(check, &format!("check after backup trial {trial} (killed after {delay:?})"));
        if trial % 10 == 0 {
            full = timed(&repo, &["run", "--force", src_arg]).max(Duration::from_millis(20));
        }
    }
    eprintln!("backup: {finished} of {TRIALS} runs finished before the kill");
    assert!(finished < TRIALS / 2, "most kills should land mid-backup; the delays are too long");

    // Prunes killed at random points; each round first makes garbage to prune.
    let mut finished = 0;
    let mut took = Duration::ZERO;
    for trial in 0..TRIALS {
        change_some(&src, &mut rng, 3);
        ok(run(&repo, &["run", src_arg]), "backup");
        ok(run(&repo, &["forget", "--keep-last", "3"]), "forget");
        let before = snapshot_names(&repo);
        if trial % 10 == 0 {
            // How long a prune takes now, measured on a copy so the real one still has work to do.
            let copy = dir.path().join("copy");
            let _ = fs::remove_dir_all(&copy);
            let cp = Command::new("cp").arg("-a").arg(&repo).arg(&copy).status().expect("cp");
            assert!(cp.success());
            took = timed(&copy, &["prune", "--max-unused", "0%"]);
        }
        let delay = Duration::from_micros(rng.next() % (took.as_micros() as u64 * 15 / 10 + 1));
        if kill_after(&repo, &["prune", "--max-unused", "0%"], delay) {
            finished += 1;
        }
        assert_eq!(snapshot_names(&repo), before, "trial {trial}: prune must never remove a snapshot");
        let check = if trial % 10 == 9 { run(&repo, &["check", "--read-data"]) } else { run(&repo, &["check"]) };
        ok(check, &format!("check after prune trial {trial} (killed after {delay:?} of {took:?})"));
        if trial % 10 == 4 {
            let target = dir.path().join(format!("restore-{trial}"));
            ok(run(&repo, &["restore", "latest", "--target", target.to_str().expect("utf8")]), "restore");
            same_tree(&src, &target.join("src"));
            fs::remove_dir_all(&target).expect("rm");
        }
    }
    eprintln!("prune: {finished} of {TRIALS} runs finished before the kill");
    assert!(finished < TRIALS * 3 / 4, "most kills should land mid-prune; the delays are too long");

    // Everything completes cleanly afterwards, and nothing is left over.
    ok(run(&repo, &["run", src_arg]), "final backup");
    let pruned = ok(run(&repo, &["prune", "--max-unused", "0%"]), "final prune");
    let check = ok(run(&repo, &["check", "--read-data"]), "final check");
    assert!(check.contains("no problems found") && !check.contains("not in any index"), "{check}\n{pruned}");
    let target = dir.path().join("restore-final");
    ok(run(&repo, &["restore", "latest", "--target", target.to_str().expect("utf8")]), "restore");
    same_tree(&src, &target.join("src"));
    // The killed commands left their locks; they are stale (their processes are gone) and
    // removed on request, with a message.
    let locks = || fs::read_dir(repo.join("locks")).expect("locks").filter(|e| e.as_ref().is_ok_and(|e| e.file_name().len() == 64)).count();
    let stale = locks();
    assert!(stale > 0, "SIGKILL leaves locks behind");
    let out = ok(run(&repo, &["check", "--remove-stale-locks"]), "check --remove-stale-locks");
    assert_eq!(out.matches("removed a stale lock").count(), stale, "{out}");
    assert_eq!(locks(), 0);
    // Partial writes of killed processes were cleaned by prune.
    let temporaries = walk_names(&repo).into_iter().filter(|n| n.starts_with(".tmp-")).count();
    assert_eq!(temporaries, 0, "{pruned}");
}
