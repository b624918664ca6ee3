//! hearthd as a process: start-up, graceful shutdown, start-up refusals with clear messages,
//! crash consistency, the CLI over the socket and over HTTPS.

use std::time::Duration;

use hearth_tests::daemon::{self, Daemon, cli_at, run_to_exit, start};
use hearth_tests::http;

const START: Duration = Duration::from_secs(20);
const STOP: Duration = Duration::from_secs(15);

fn claim(d: &Daemon) {
    let out = d.cli(&["setup", "--name", "ada"], "lovelace-1815\n");
    assert!(out.status.success(), "setup failed: {}", String::from_utf8_lossy(&out.stderr));
}

#[test]
fn starts_with_defaults_answers_health_and_stops_on_sigterm() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let mut d = start(&data, &[]);
    d.wait_healthy(START);
    let h = http::get(d.http, "/api/health").expect("health");
    let j = h.json();
    assert_eq!(j["version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(j["setup_required"], true);
    let names: Vec<&str> = j["services"].as_array().expect("services").iter().filter_map(|s| s["name"].as_str()).collect();
    assert_eq!(names, ["api", "backup", "disks", "files", "maintenance", "ml", "photos", "sync", "thumbnail", "updates"], "by name");
    let code = std::fs::read_to_string(data.join("setup-code")).expect("setup code file");
    assert!(d.log_text().contains(code.trim()), "the setup code is printed");
    use std::os::unix::fs::PermissionsExt;
    let mode = |p: &std::path::Path| std::fs::metadata(p).map(|m| m.permissions().mode() & 0o777).unwrap_or(0);
    assert_eq!(mode(&data), 0o700);
    assert_eq!(mode(&data.join("setup-code")), 0o600);
    assert_eq!(mode(&data.join("hearthd.sock")), 0o600);
    assert_eq!(mode(&data.join("tls/key.pem")), 0o600);
    // An API route without login.
    let r = http::get(d.http, "/api/v1/users").expect("users");
    assert_eq!(r.status, 401);
    let status = d.stop(STOP);
    assert!(status.success(), "clean exit, got {status}");
    assert!(!data.join("hearthd.sock").exists(), "socket removed on shutdown");
}

#[test]
fn bad_config_names_line_key_and_allowed_values() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = dir.path().join("hearth.toml");
    std::fs::write(&cfg, "[http]\nlisten = \"0.0.0.0:80\"\nmax_conections = 5\n").expect("write");
    let (status, err) = run_to_exit(&["--data", dir.path().join("d").to_str().expect("utf8"), "--config", cfg.to_str().expect("utf8")]);
    assert_eq!(status.code(), Some(2));
    assert!(err.contains("line 3") && err.contains("http.max_conections") && err.contains("max_connections"), "{err}");
    std::fs::write(&cfg, "[accounts]\nsession_idle_days = 9999\n").expect("write");
    let (status, err) = run_to_exit(&["check-config", cfg.to_str().expect("utf8")]);
    assert_eq!(status.code(), Some(2));
    assert!(err.contains("line 2") && err.contains("1 to 365"), "{err}");
    let example = daemon::workspace().join("docs/hearth.example.toml");
    let (status, err) = run_to_exit(&["check-config", example.to_str().expect("utf8")]);
    assert!(status.success(), "{err}");
}

#[test]
fn port_in_use_is_a_clear_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    let busy = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = busy.local_addr().expect("addr").to_string();
    let https = format!("127.0.0.1:{}", daemon::free_port());
    let (status, err) =
        run_to_exit(&["--data", dir.path().join("d").to_str().expect("utf8"), "--listen", &addr, "--https-listen", &https, "--no-mdns"]);
    assert_eq!(status.code(), Some(2));
    assert!(err.contains(&format!("cannot listen on HTTP {addr}")) && err.contains("another program"), "{err}");
}

#[test]
fn unusable_data_folder_is_a_clear_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("a-file");
    std::fs::write(&file, "not a folder").expect("write");
    let data = file.join("data");
    let (status, err) =
        run_to_exit(&["--data", data.to_str().expect("utf8"), "--no-mdns", "--listen", "127.0.0.1:0", "--https-listen", "off"]);
    assert_eq!(status.code(), Some(2));
    assert!(err.contains("data folder") && err.contains("not usable"), "{err}");

    // A read-only disk (root ignores permission bits, so use a read-only mount).
    let ro = dir.path().join("ro");
    std::fs::create_dir_all(&ro).expect("mkdir");
    let script = format!(
        "mount -t tmpfs -o ro,size=1m tmpfs {ro} && exec {bin} --data {ro}/data --no-mdns --listen 127.0.0.1:0 --https-listen off --sync-listen off",
        ro = ro.display(),
        bin = daemon::hearthd().display()
    );
    let out =
        std::process::Command::new("unshare").args(["-m", "--propagation", "private", "sh", "-c", &script]).output().expect("unshare");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("not usable") && err.contains("Read-only file system"), "{err}");
}

#[test]
fn corrupt_or_newer_catalog_is_refused_and_left_alone() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("d");
    std::fs::create_dir_all(&data).expect("mkdir");
    let db = data.join("hearth.db");
    std::fs::write(&db, b"this is not a database at all, but somebody's file").expect("write");
    let args =
        ["--data", data.to_str().expect("utf8"), "--no-mdns", "--listen", "127.0.0.1:0", "--https-listen", "off", "--sync-listen", "off"];
    let (status, err) = run_to_exit(&args);
    assert_eq!(status.code(), Some(2));
    assert!(err.contains("is damaged") && err.contains("what to do") && err.contains("restore"), "{err}");
    assert_eq!(std::fs::read(&db).expect("read"), b"this is not a database at all, but somebody's file");

    // A catalog from a newer Hearth: make a real one, then raise its schema version.
    std::fs::remove_file(&db).expect("rm");
    let mut d = start(&data, &[]);
    d.wait_healthy(START);
    assert!(d.stop(STOP).success());
    let conn_bump = std::process::Command::new("python3")
        .args(["-c", &format!("import sqlite3; c=sqlite3.connect('{}'); c.execute('PRAGMA user_version=999'); c.commit()", db.display())])
        .status()
        .expect("python3");
    assert!(conn_bump.success());
    let (status, err) = run_to_exit(&args);
    assert_eq!(status.code(), Some(2));
    assert!(err.contains("newer Hearth") && err.contains("schema 999"), "{err}");
}

#[test]
fn a_second_daemon_on_the_same_data_folder_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("d");
    let mut first = start(&data, &[]);
    first.wait_healthy(START);
    let (status, err) =
        run_to_exit(&["--data", data.to_str().expect("utf8"), "--no-mdns", "--listen", "127.0.0.1:0", "--https-listen", "off"]);
    assert_eq!(status.code(), Some(2));
    assert!(err.contains("another hearthd is running on this data folder"), "{err}");
    assert!(http::get(first.http, "/api/health").is_ok_and(|r| r.status == 200), "the first one is unharmed");
    assert!(first.stop(STOP).success());
}

#[test]
fn cli_manages_users_over_the_socket_and_https_with_a_token() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("d");
    let mut d = start(&data, &[]);
    d.wait_healthy(START);
    claim(&d);
    let again = d.cli(&["setup", "--name", "eve"], "eve-password\n");
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("already has an owner"));
    let out = d.cli(&["users", "add", "bob", "--role", "admin"], "bob-password\n");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let out = d.cli(&["users", "add", "kid"], "short\n");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("at least 8"), "the server's message reaches the user");
    let out = d.cli(&["users", "list"], "");
    let list = String::from_utf8_lossy(&out.stdout);
    assert!(list.contains("ada") && list.contains("owner") && list.contains("bob") && list.contains("admin"), "{list}");
    let out = d.cli(&["users", "passwd", "bob"], "bob-new-password\n");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));

    // Log in over HTTP, make an app password, use it with --url over HTTPS.
    let login =
        http::request(d.http, "POST", "/api/v1/auth/login", &[], Some(r#"{"name":"bob","password":"bob-new-password"}"#)).expect("login");
    assert_eq!(login.status, 200, "{}", login.body);
    let cookie = login.cookie().expect("cookie").to_string();
    let tok = http::request(d.http, "POST", "/api/v1/me/tokens", &[format!("Cookie: {cookie}")], Some(r#"{"name":"cli"}"#)).expect("token");
    assert_eq!(tok.status, 201, "{}", tok.body);
    let secret = tok.json()["secret"].as_str().expect("secret").to_string();
    let status = http::request(d.http, "GET", "/api/v1/status", &[format!("Authorization: Bearer {secret}")], None).expect("status");
    let fp = status.json()["device"]["cert_sha256"].as_str().expect("fingerprint").to_string();
    let url = format!("https://{}", d.https);
    let out = cli_at(&data, &["--url", &url, "--token", &secret, "--cert-sha256", &fp, "status"], "");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("Users: 2") && text.contains("api") && text.contains("running"), "{text}");
    let wrong = "0".repeat(64);
    let out = cli_at(&data, &["--url", &url, "--token", &secret, "--cert-sha256", &wrong, "status"], "");
    assert!(!out.status.success(), "a wrong certificate fingerprint is refused");
    let out = cli_at(&data, &["--url", &format!("http://{}", d.http), "--token", "hth_wrong", "users", "list"], "");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("log in first"));
    assert!(d.stop(STOP).success());
}

/// Writes keep arriving while hearthd is killed with SIGKILL at varied moments; every restart
/// finds a consistent catalog (it refuses to start otherwise), and every user whose creation was
/// acknowledged is still there.
#[test]
fn sigkill_at_any_moment_leaves_a_consistent_catalog() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("d");
    let mut d = start(&data, &[]);
    d.wait_healthy(START);
    claim(&d);
    let mut acknowledged: Vec<String> = Vec::new();
    let mut n = 0;
    for round in 0..8u64 {
        // A writer in the background: user creations through the socket, each acknowledged one
        // reported as it is acknowledged.
        let data2 = data.clone();
        let start_n = n;
        let (acked, acks) = std::sync::mpsc::channel::<String>();
        let writer = std::thread::spawn(move || {
            for i in start_n..start_n + 40 {
                let name = format!("u{i}");
                let out = cli_at(&data2, &["users", "add", &name], "password-123\n");
                if !out.status.success() || acked.send(name).is_err() {
                    break;
                }
            }
        });
        // Kill after a varied number of acknowledged writes (1 to 4, by round), while the writer
        // is in the middle of the next one: the same on a fast or a loaded machine.
        for _ in 0..=(round % 4) {
            match acks.recv_timeout(Duration::from_secs(60)) {
                Ok(name) => acknowledged.push(name),
                Err(e) => panic!("round {round}: no write was acknowledged: {e}"),
            }
        }
        d.kill();
        writer.join().expect("writer");
        acknowledged.extend(acks.try_iter());
        n += 40;
        d = start(&data, &[]);
        d.wait_healthy(START);
        let out = d.cli(&["--json", "users", "list"], "");
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let list: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
        let names: Vec<&str> = list.as_array().expect("array").iter().filter_map(|u| u["name"].as_str()).collect();
        for a in &acknowledged {
            assert!(names.contains(&a.as_str()), "round {round}: acknowledged user {a} was lost");
        }
    }
    assert!(acknowledged.len() > 8, "the test did write between kills ({})", acknowledged.len());
    assert!(d.stop(STOP).success());
}

/// The data disk fills up: writes fail with a clear 507, nothing already stored is lost, and
/// writes work again once space is freed. Runs hearthd on a 4 MiB tmpfs in its own mount
/// namespace (the test runs as root, like the box's daemon).
#[test]
fn full_data_disk_gives_a_clear_error_and_loses_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mnt = dir.path().join("small");
    std::fs::create_dir_all(&mnt).expect("mkdir");
    let data = mnt.join("d");
    let http = format!("127.0.0.1:{}", daemon::free_port());
    let log = dir.path().join("hearthd.log");
    let script = format!(
        "mount -t tmpfs -o size=4m tmpfs {m} && exec {bin} --data {d} --listen {http} --https-listen off --sync-listen 127.0.0.1:0 --no-mdns 2>{log}",
        m = mnt.display(),
        bin = daemon::hearthd().display(),
        d = data.display(),
        log = log.display()
    );
    let mut child =
        std::process::Command::new("unshare").args(["-m", "--propagation", "private", "sh", "-c", &script]).spawn().expect("unshare");
    let addr: std::net::SocketAddr = http.parse().expect("addr");
    let mut up = false;
    for _ in 0..1000 {
        if http::get(addr, "/api/health").is_ok_and(|r| r.status == 200) {
            up = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(up, "hearthd on tmpfs did not start: {}", std::fs::read_to_string(&log).unwrap_or_default());
    // The socket lives inside the private mount; talk HTTP from the LAN side instead.
    let claim =
        http::request(addr, "POST", "/api/v1/setup/claim", &[], Some(r#"{"name":"ada","password":"lovelace-1815"}"#)).expect("claim");
    assert_eq!(claim.status, 201, "{}", claim.body);
    let cookie = claim.cookie().expect("cookie").to_string();
    let auth = [format!("Cookie: {cookie}")];
    // Fill the disk from inside the namespace: hearthd's own process sees the tmpfs.
    let pid = child.id();
    let fill = std::process::Command::new("nsenter")
        .args(["-t", &pid.to_string(), "-m", "sh", "-c", &format!("dd if=/dev/zero of={}/filler bs=64k 2>/dev/null; sync", data.display())])
        .status()
        .expect("nsenter");
    assert!(fill.code().is_some());
    let mut full = None;
    for i in 0..400 {
        let body = format!(r#"{{"name":"user{i}","password":"password-{i:04}","display_name":"{}"}}"#, "x".repeat(60));
        let r = http::request(addr, "POST", "/api/v1/users", &auth, Some(&body)).expect("request");
        if r.status != 201 {
            full = Some(r);
            break;
        }
    }
    let r = full.expect("the disk filled up");
    assert_eq!(r.status, 507, "{}", r.body);
    assert_eq!(r.json()["error"]["kind"], "storage_full");
    assert!(r.json()["error"]["guidance"].as_str().is_some_and(|g| g.contains("free some space")));
    let me = http::request(addr, "GET", "/api/v1/me", &auth, None).expect("me");
    assert_eq!(me.status, 200, "reads still work: {}", me.body);
    std::process::Command::new("nsenter")
        .args(["-t", &pid.to_string(), "-m", "rm", "-f", &format!("{}/filler", data.display())])
        .status()
        .expect("nsenter rm");
    let r = http::request(addr, "POST", "/api/v1/users", &auth, Some(r#"{"name":"after","password":"password-after"}"#)).expect("request");
    assert_eq!(r.status, 201, "writes work again after space is freed: {}", r.body);
    hearth_platform::process::terminate(pid);
    let status = child.wait().expect("wait");
    assert!(status.success(), "{status}: {}", std::fs::read_to_string(&log).unwrap_or_default());
}

#[test]
fn the_sync_device_id_is_made_once_and_shown_by_the_cli() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let mut d = start(&data, &[]);
    d.wait_healthy(START);
    claim(&d);
    let out = d.cli(&["sync", "id"], "");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let shown = String::from_utf8_lossy(&out.stdout).trim().to_string();
    let id: hearth_sync::DeviceId = shown.parse().expect("a valid device id");
    let cert = std::fs::read(data.join("sync/cert.pem")).expect("cert.pem");
    let key = std::fs::read(data.join("sync/key.pem")).expect("key.pem");
    assert_eq!(hearth_sync::identity::Identity::from_pem(&cert, &key, "data").expect("pem").device_id, id);
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(std::fs::metadata(data.join("sync/key.pem")).expect("key").permissions().mode() & 0o777, 0o600);
    assert_eq!(http::get(d.http, "/api/v1/sync/id").expect("get").status, 401, "the id needs a login");
    assert!(d.stop(STOP).success());
    // The same id after a restart.
    let mut d = start(&data, &[]);
    d.wait_healthy(START);
    let out = d.cli(&["sync", "id"], "");
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), shown);
    assert!(d.stop(STOP).success());
}

/// The processes whose parent is `pid`, from /proc.
fn children_of(pid: u32) -> Vec<u32> {
    std::fs::read_dir("/proc")
        .expect("/proc")
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|p| {
            let stat = std::fs::read_to_string(format!("/proc/{p}/stat")).unwrap_or_default();
            // pid (comm) state ppid …: comm may hold spaces, so read after the last ')'.
            stat.rsplit_once(')').and_then(|(_, rest)| rest.split_whitespace().nth(1)?.parse::<u32>().ok()) == Some(pid)
        })
        .collect()
}

/// The kernel's OOM killer ends hearthd with SIGKILL: its workers must not live on (re-parented
/// to init) beside the next daemon's workers on the same data folder.
#[test]
fn workers_die_with_a_sigkilled_daemon() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut d = daemon::start(&dir.path().join("data"), &[]);
    d.wait_healthy(Duration::from_secs(30));
    let pid = d.child.id();
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    let workers = loop {
        let w = children_of(pid);
        if w.len() >= 4 {
            break w;
        }
        assert!(std::time::Instant::now() < deadline, "the maintenance, backup, ml and thumbnail workers never started: {w:?}");
        std::thread::sleep(Duration::from_millis(100));
    };
    d.kill();
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let alive: Vec<u32> = workers.iter().copied().filter(|w| std::path::Path::new(&format!("/proc/{w}")).exists()).collect();
        // A zombie that init has not reaped yet is gone as far as the data folder is concerned.
        let running: Vec<u32> = alive
            .into_iter()
            .filter(|w| {
                !std::fs::read_to_string(format!("/proc/{w}/stat"))
                    .unwrap_or_default()
                    .rsplit_once(')')
                    .is_some_and(|(_, r)| r.trim_start().starts_with('Z'))
            })
            .collect();
        if running.is_empty() {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "workers {running:?} outlived their SIGKILLed daemon");
        std::thread::sleep(Duration::from_millis(100));
    }
}
