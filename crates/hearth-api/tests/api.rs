//! The API against a real catalog in a temporary folder, driven through the router.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use hearth_api::auth::Access;
use hearth_api::auth::caller::Peer;
use hearth_api::routes;
use hearth_api::setup_code::SetupCode;
use hearth_api::state::DeviceInfo;
use hearth_api::{AppState, auth};
use hearth_catalog::Catalog;
use hearth_catalog::assets::NewAsset;
use hearth_core::board::BoardProfile;
use hearth_core::config::Config;
use hearth_core::service::StatusBoard;
use hearth_platform::clock::FakeClock;
use hearth_platform::network::LocalNetwork;
use http_body_util::BodyExt;
use serde_json::{Value, json};
use tower::ServiceExt;

struct Box_ {
    state: AppState,
    clock: FakeClock,
    _dir: tempfile::TempDir,
}

const LAN: &str = "192.168.1.50:40000";
const OUTSIDE: &str = "203.0.113.9:40000";

fn new_box() -> Box_ {
    let dir = tempfile::tempdir().expect("tempdir");
    let (catalog, _) = Catalog::open(&dir.path().join("hearth.db")).expect("catalog");
    let mut config = Config::default();
    config.accounts.free_failures_per_user = 3;
    config.accounts.max_backoff = Duration::from_secs(60);
    config.http.max_body_bytes = 4096;
    let clock = FakeClock::at(1_800_000_000);
    let state = AppState {
        catalog: Arc::new(catalog),
        throttle: Arc::new(auth::throttle::Throttle::new(&config.accounts)),
        config: Arc::new(config),
        board: Arc::new(BoardProfile::builtin("dev").expect("dev")),
        status: StatusBoard::new(),
        clock: Arc::new(clock.clone()),
        setup: Arc::new(SetupCode::prepare(dir.path(), true).expect("code")),
        local_networks: Arc::new(vec![LocalNetwork { addr: "192.168.1.2".parse().expect("ip"), prefix: 24 }]),
        device: Arc::new(DeviceInfo {
            id: "00112233445566778899aabbccddeeff".into(),
            name: "Test box".into(),
            version: "0.1.0".into(),
            board: "dev".into(),
            https_port: None,
            cert_sha256: None,
            sync_device_id: Some("MFZWI3D-BONSGYC-YLTMRWG-C43ENR5-QXGZDMM-FZWI3DP-BONSGYY-LTMRWAD".into()),
        }),
        data_dir: dir.path().to_path_buf(),
        sync: None,
        power: None,
        live: Default::default(),
        box_settings: hearth_api::box_settings::LiveSettings::new(hearth_core::box_settings::BoxSettings::defaults(
            hearth_core::box_settings::BoxName::parse("Test box").expect("name"),
        )),
        verified_passwords: Default::default(),
        memberships: Default::default(),
        link_tokens: Default::default(),
        disks: Default::default(),
        login_flows: Default::default(),
        files_written: tokio::sync::broadcast::channel(16).0,
        hosted_usage: Default::default(),
        dav: Default::default(),
        backups: Default::default(),
        recovery: Default::default(),
        updates: Arc::new(hearth_ota::updates::Updates::new(
            None,
            hearth_ota::updates::Control::InProcess(Default::default()),
            dir.path().join("system/update"),
            dir.path().join("system/update/record.json"),
            None,
        )),
        sentences: None,
    };
    Box_ { state, clock, _dir: dir }
}

struct Resp {
    status: StatusCode,
    headers: axum::http::HeaderMap,
    json: Value,
}

impl Box_ {
    async fn send(&self, method: &str, path: &str, from: &str, auth: Option<&str>, body: Option<Value>) -> Resp {
        let mut req = Request::builder().method(method).uri(path);
        if let Some(a) = auth {
            if a.starts_with("hth_") {
                req = req.header(header::AUTHORIZATION, format!("Bearer {a}"));
            } else {
                req = req.header(header::COOKIE, format!("hearth_session={a}"));
            }
        }
        let body = match body {
            Some(v) => {
                req = req.header(header::CONTENT_TYPE, "application/json");
                Body::from(v.to_string())
            }
            None => Body::empty(),
        };
        self.raw(req.body(body).expect("request"), from).await
    }

    async fn raw(&self, mut req: Request<Body>, from: &str) -> Resp {
        let peer = if from == "socket" {
            Peer { addr: None, tls: false, local_socket: true }
        } else {
            Peer { addr: Some(from.parse::<SocketAddr>().expect("addr")), tls: false, local_socket: false }
        };
        req.extensions_mut().insert(peer);
        let resp = routes::router(self.state.clone()).oneshot(req).await.expect("infallible");
        let status = resp.status();
        let headers = resp.headers().clone();
        let bytes = resp.into_body().collect().await.expect("body").to_bytes();
        let json = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        Resp { status, headers, json }
    }

    /// Claim from the LAN as `ada` and return her session secret.
    async fn claimed(&self) -> String {
        let r = self.send("POST", "/api/v1/setup/claim", LAN, None, Some(json!({"name": "ada", "password": "lovelace-1815"}))).await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.json);
        session_of(&r)
    }

    async fn login(&self, name: &str, password: &str) -> Resp {
        self.send("POST", "/api/v1/auth/login", LAN, None, Some(json!({"name": name, "password": password}))).await
    }
}

fn session_of(r: &Resp) -> String {
    let cookie = r.headers.get(header::SET_COOKIE).expect("cookie").to_str().expect("ascii");
    assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"), "{cookie}");
    cookie.split(';').next().and_then(|kv| kv.split_once('=')).map(|(_, v)| v.to_string()).expect("value")
}

fn concrete(path: &str) -> String {
    path.replace("{id}", "1")
        .replace("{name}", "ada")
        .replace("{month}", "202407")
        .replace("{token}", "not-a-link")
        .replace("{user}", "ada")
        .replace("{*file}", "main.js")
        .replace("{*path}", "laptop/config")
        .replace("{snapshot}", "abcdef")
}

/// Walk the route table: every route that is not public answers 401 without credentials, and
/// with a forged cookie or token; public routes never answer 401.
#[tokio::test]
async fn every_protected_route_requires_login() {
    let b = new_box();
    let _ = b.claimed().await;
    let table = routes::table();
    let mut public: Vec<String> = table.iter().filter(|r| r.access == Access::Public).map(|r| format!("{} {}", r.method, r.path)).collect();
    public.sort();
    assert_eq!(
        public,
        [
            "GET /",
            "GET /api/health",
            "GET /api/v1/setup",
            "GET /api/v1/setup/recover",
            "GET /api/v1/shared/{token}",
            "GET /api/v1/shared/{token}/archive",
            "GET /api/v1/shared/{token}/assets",
            "GET /api/v1/shared/{token}/assets/{id}/original",
            "GET /api/v1/shared/{token}/assets/{id}/thumbnail",
            "GET /api/v1/shared/{token}/download",
            "GET /api/v1/shared/{token}/files",
            "GET /app/{*file}",
            "GET /index.php/login/v2/flow/{token}",
            "GET /ocs/v1.php/cloud/capabilities",
            "GET /ocs/v2.php/cloud/capabilities",
            "GET /s/{token}",
            "GET /s/{token}/download",
            "GET /status.php",
            "OPTIONS /api/v1/uploads",
            "POST /api/v1/auth/login",
            "POST /api/v1/setup/certificate",
            "POST /api/v1/setup/claim",
            "POST /api/v1/setup/recover",
            "POST /api/v1/shared/{token}/assets",
            "POST /api/v1/shared/{token}/files",
            "POST /api/v1/shared/{token}/unlock",
            "POST /index.php/core/wipe/check",
            "POST /index.php/login/v2",
            "POST /index.php/login/v2/poll",
            "PROPFIND /.well-known/caldav",
            "PROPFIND /.well-known/carddav",
        ],
        "only health, setup, claim, recovery of a new box, login, the page itself and its files, share links (their token is the key), tus's capability answer and what a Nextcloud answers without a login (status, capabilities, the login flow, the wipe check) and the well-known redirects to the calendars' DAV root are public"
    );
    for route in table {
        let path = concrete(route.path);
        let body = (route.method != "GET" && route.method != "DELETE").then(|| json!({}));
        for auth in [None, Some("forged-session-secret"), Some("hth_forged_token")] {
            let r = b.send(route.method.as_str(), &path, OUTSIDE, auth, body.clone()).await;
            match route.access {
                Access::Public => assert_ne!(r.status, StatusCode::UNAUTHORIZED, "{} {} is public", route.method, route.path),
                _ => {
                    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{} {} must need a login ({auth:?})", route.method, route.path);
                    // HEAD answers have no body to say it in.
                    if route.method != "HEAD" {
                        assert_eq!(r.json["error"]["kind"], "unauthenticated");
                    }
                }
            }
        }
    }
    // Admin routes refuse members.
    let b2 = new_box();
    let owner = b2.claimed().await;
    let r = b2.send("POST", "/api/v1/users", LAN, Some(&owner), Some(json!({"name": "kid", "password": "kid-password"}))).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.json);
    let kid = session_of(&b2.login("kid", "kid-password").await);
    for route in routes::table().into_iter().filter(|r| r.access == Access::Admin) {
        let body = (route.method != "GET" && route.method != "DELETE").then(|| json!({}));
        let r = b2.send(route.method.as_str(), &concrete(route.path), LAN, Some(&kid), body).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{} {} is admin-only", route.method, route.path);
    }
}

#[tokio::test]
async fn claim_from_lan_without_code_from_outside_with_code_once() {
    let b = new_box();
    let s = b.send("GET", "/api/v1/setup", OUTSIDE, None, None).await;
    assert_eq!(s.json, json!({"claimed": false, "code_required": true, "recovery": null}));
    let s = b.send("GET", "/api/v1/setup", LAN, None, None).await;
    assert_eq!(s.json, json!({"claimed": false, "code_required": false, "recovery": null}));
    // Restoring a new box from a backup follows the same rules as claiming it.
    let recover = json!({"target": {"kind": "folder", "path": "/nowhere/usb"}, "recovery_key": "not a key"});
    let r = b.send("POST", "/api/v1/setup/recover", OUTSIDE, None, Some(recover.clone())).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.json);
    let relative = json!({"target": {"kind": "folder", "path": "usb"}, "recovery_key": "not a key"});
    assert_eq!(b.send("POST", "/api/v1/setup/recover", LAN, None, Some(relative)).await.status, StatusCode::BAD_REQUEST);
    assert_eq!(b.send("GET", "/api/v1/setup/recover", LAN, None, None).await.status, StatusCode::NOT_FOUND);
    let h = b.send("GET", "/api/health", OUTSIDE, None, None).await;
    assert_eq!(h.json["setup_required"], true);

    let body = json!({"name": "ada", "password": "lovelace-1815"});
    let r = b.send("POST", "/api/v1/setup/claim", OUTSIDE, None, Some(body.clone())).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.json);
    let wrong = json!({"name": "ada", "password": "lovelace-1815", "setup_code": "AAAA-AAAA"});
    let r = b.send("POST", "/api/v1/setup/claim", OUTSIDE, None, Some(wrong)).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);

    let code = b.state.setup.current().expect("code");
    let right = json!({"name": "ada", "password": "lovelace-1815", "setup_code": code.to_lowercase()});
    let r = b.send("POST", "/api/v1/setup/claim", OUTSIDE, None, Some(right)).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.json);
    assert_eq!(r.json["role"], "owner");
    let session = session_of(&r);
    let me = b.send("GET", "/api/v1/me", OUTSIDE, Some(&session), None).await;
    assert_eq!(me.json["name"], "ada");

    let again = b.send("POST", "/api/v1/setup/claim", LAN, None, Some(json!({"name": "eve", "password": "eve-password"}))).await;
    assert_eq!(again.status, StatusCode::CONFLICT);
    let r = b.send("POST", "/api/v1/setup/recover", LAN, None, Some(recover)).await;
    assert_eq!(r.status, StatusCode::CONFLICT, "a claimed box is not replaced: {}", r.json);
    assert!(!b.state.data_dir.join("setup-code").exists());

    let audit = b.send("GET", "/api/v1/audit", LAN, Some(&session), None).await;
    let actions: Vec<(String, String)> = audit
        .json
        .as_array()
        .expect("list")
        .iter()
        .map(|e| (e["action"].as_str().unwrap_or("").to_string(), e["outcome"].as_str().unwrap_or("").to_string()))
        .collect();
    assert!(actions.contains(&("setup.claim".into(), "ok".into())), "{actions:?}");
    assert_eq!(actions.iter().filter(|a| a.0 == "setup.claim" && a.1 == "denied").count(), 2);
    assert_eq!(actions.iter().filter(|a| a.0 == "setup.recover" && a.1 == "denied").count(), 1);
}

#[tokio::test]
async fn wrong_passwords_are_throttled_and_audited() {
    let b = new_box();
    let _ = b.claimed().await;
    for _ in 0..3 {
        let r = b.login("ada", "wrong-password").await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED);
        assert_eq!(r.json["error"]["message"], "wrong user name or password");
    }
    let r = b.login("ada", "lovelace-1815").await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS, "even the right password waits");
    assert_eq!(r.headers.get(header::RETRY_AFTER).and_then(|v| v.to_str().ok()), Some("1"));
    b.clock.advance(Duration::from_secs(1));
    let r = b.login("ada", "wrong-again").await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    let r = b.login("ada", "lovelace-1815").await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(r.headers.get(header::RETRY_AFTER).and_then(|v| v.to_str().ok()), Some("2"), "the wait doubles");
    b.clock.advance(Duration::from_secs(2));
    let ok = b.login("ada", "lovelace-1815").await;
    assert_eq!(ok.status, StatusCode::OK, "{}", ok.json);
    // Unknown users get the same answer as wrong passwords.
    let r = b.login("nobody", "whatever-pass").await;
    assert_eq!(r.json["error"]["message"], "wrong user name or password");

    let admin = session_of(&ok);
    let audit = b.send("GET", "/api/v1/audit?limit=50", LAN, Some(&admin), None).await;
    let denied = audit.json.as_array().expect("list").iter().filter(|e| e["action"] == "login" && e["outcome"] == "denied").count();
    assert_eq!(denied, 7, "{}", audit.json);
}

#[tokio::test]
async fn app_passwords_work_until_revoked() {
    let b = new_box();
    let s = b.claimed().await;
    let r = b.send("POST", "/api/v1/me/tokens", LAN, Some(&s), Some(json!({"name": "Ada's phone"}))).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.json);
    let secret = r.json["secret"].as_str().expect("secret").to_string();
    assert!(secret.starts_with("hth_"));
    let id = r.json["token"]["id"].as_i64().expect("id");
    let me = b.send("GET", "/api/v1/me", OUTSIDE, Some(&secret), None).await;
    assert_eq!(me.json["name"], "ada");
    let list = b.send("GET", "/api/v1/me/tokens", LAN, Some(&secret), None).await;
    assert_eq!(list.json[0]["name"], "Ada's phone");
    assert!(list.json[0].get("secret_hash").is_none());
    let dup = b.send("POST", "/api/v1/me/tokens", LAN, Some(&s), Some(json!({"name": "Ada's phone"}))).await;
    assert_eq!(dup.status, StatusCode::CONFLICT);
    let bad = b.send("DELETE", "/api/v1/me/tokens/not-a-number", LAN, Some(&s), None).await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert_eq!(bad.json["error"]["kind"], "invalid_input");
    let other = b.send("DELETE", "/api/v1/me/tokens/999", LAN, Some(&s), None).await;
    assert_eq!(other.status, StatusCode::NOT_FOUND);
    let del = b.send("DELETE", &format!("/api/v1/me/tokens/{id}"), LAN, Some(&s), None).await;
    assert_eq!(del.status, StatusCode::NO_CONTENT);
    let me = b.send("GET", "/api/v1/me", OUTSIDE, Some(&secret), None).await;
    assert_eq!(me.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn password_change_ends_other_sessions_and_logout_ends_this_one() {
    let b = new_box();
    let first = b.claimed().await;
    let second = session_of(&b.login("ada", "lovelace-1815").await);
    let r =
        b.send("POST", "/api/v1/me/password", LAN, Some(&first), Some(json!({"current": "nope-nope", "new": "analytical-engine"}))).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = b.send("POST", "/api/v1/me/password", LAN, Some(&first), Some(json!({"current": "lovelace-1815", "new": "short"}))).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r.json["error"]["message"].as_str().expect("msg").contains("at least 8"));
    let r = b
        .send("POST", "/api/v1/me/password", LAN, Some(&first), Some(json!({"current": "lovelace-1815", "new": "analytical-engine"})))
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    assert_eq!(b.send("GET", "/api/v1/me", LAN, Some(&first), None).await.status, StatusCode::OK);
    assert_eq!(b.send("GET", "/api/v1/me", LAN, Some(&second), None).await.status, StatusCode::UNAUTHORIZED);
    assert_eq!(b.login("ada", "analytical-engine").await.status, StatusCode::OK);
    let out = b.send("POST", "/api/v1/auth/logout", LAN, Some(&first), None).await;
    assert_eq!(out.status, StatusCode::NO_CONTENT);
    assert_eq!(b.send("GET", "/api/v1/me", LAN, Some(&first), None).await.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn sessions_expire_after_idle_time() {
    let b = new_box();
    let s = b.claimed().await;
    b.clock.advance(b.state.config.accounts.session_idle - Duration::from_secs(10));
    assert_eq!(b.send("GET", "/api/v1/me", LAN, Some(&s), None).await.status, StatusCode::OK, "use extends it");
    b.clock.advance(b.state.config.accounts.session_idle - Duration::from_secs(10));
    assert_eq!(b.send("GET", "/api/v1/me", LAN, Some(&s), None).await.status, StatusCode::OK);
    b.clock.advance(b.state.config.accounts.session_idle + Duration::from_secs(1));
    assert_eq!(b.send("GET", "/api/v1/me", LAN, Some(&s), None).await.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn the_disks_are_listed_for_admins() {
    let mut b = new_box();
    let sys = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../hearth-disks/tests/fixtures/sys-rpi4");
    let dev = b._dir.path().join("dev");
    std::fs::create_dir(&dev).expect("dev");
    std::fs::write(dev.join("nvme0n1"), vec![0u8; 8192]).expect("blank nvme");
    let mountinfo = b._dir.path().join("mountinfo");
    std::fs::write(&mountinfo, "21 1 179:2 / / ro - squashfs /dev/mmcblk0p2 ro\n").expect("mountinfo");
    // A stand-in smartctl answering as an NVMe disk does, whatever the device.
    let smartctl = b._dir.path().join("smartctl");
    let nvme = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../hearth-disks/tests/fixtures/smartctl/nvme.json");
    std::fs::write(&smartctl, format!("#!/bin/sh\ncat '{}'\n", nvme.display())).expect("smartctl");
    std::fs::set_permissions(&smartctl, std::os::unix::fs::PermissionsExt::from_mode(0o755)).expect("chmod");
    let smartctl = smartctl.to_string_lossy().into_owned();
    let disks = hearth_disks::service::Disks::new(hearth_disks::service::Sources { sys, dev, mountinfo, smartctl });
    disks.refresh();
    b.state.disks = Arc::new(disks);
    let owner = b.claimed().await;
    let r = b.send("POST", "/api/v1/users", LAN, Some(&owner), Some(json!({"name": "kid", "password": "kid-password"}))).await;
    assert_eq!(r.status, StatusCode::CREATED);
    let kid = session_of(&b.login("kid", "kid-password").await);
    assert_eq!(b.send("GET", "/api/v1/disks", LAN, Some(&kid), None).await.status, StatusCode::FORBIDDEN);
    let r = b.send("GET", "/api/v1/disks", LAN, Some(&owner), None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.json);
    let disks = r.json["disks"].as_array().expect("disks");
    let names: Vec<&str> = disks.iter().filter_map(|d| d["name"].as_str()).collect();
    assert_eq!(names, ["mmcblk0", "nvme0n1", "sda", "sdb"]);
    let card = &disks[0];
    assert_eq!((card["transport"].as_str(), card["system"].as_bool()), (Some("sd"), Some(true)));
    assert_eq!(card["volumes"][1]["mounts"][0]["path"], "/");
    assert_eq!(card["volumes"][0]["problem"], "has no device file");
    let nvme = &disks[1];
    assert_eq!(
        (nvme["serial"].as_str(), nvme["size_bytes"].as_u64(), nvme["partition_table"].is_null()),
        (Some("22123A801234"), Some(1_000_204_886_016), true)
    );
    assert_eq!(disks[2]["transport"], "usb");
    assert_eq!((nvme["health"]["verdict"].as_str(), nvme["health"]["temperature_c"].as_i64()), (Some("good"), Some(41)));
    assert!(card["health"].is_null(), "an SD card has no SMART");
    assert_eq!(r.json["data"]["on"], "card", "{}", r.json["data"]);

    // Giving the data to a disk: the kid may not; the system card, an unknown serial and a
    // file-system kind Hearth does not make are refused; the blank NVMe disk passes the checks,
    // and this hearthd (no privileged helper) says it cannot format it. Each try is audited.
    let ext4 = json!({"file_system": "ext4"});
    let ask = |serial: &str| format!("/api/v1/disks/{serial}/use-for-data");
    assert_eq!(b.send("POST", &ask("22123A801234"), LAN, Some(&kid), Some(ext4.clone())).await.status, StatusCode::FORBIDDEN);
    let r = b.send("POST", &ask("0x9a3f21c7"), LAN, Some(&owner), Some(json!({"file_system": "ext4", "erase": true}))).await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.json);
    assert!(r.json["error"]["message"].as_str().is_some_and(|m| m.contains("holds the running system")), "{}", r.json);
    assert_eq!(b.send("POST", &ask("nope"), LAN, Some(&owner), Some(ext4.clone())).await.status, StatusCode::NOT_FOUND);
    let r = b.send("POST", &ask("22123A801234"), LAN, Some(&owner), Some(json!({"file_system": "zfs"}))).await;
    assert!(r.status.is_client_error(), "{}", r.json);
    let r = b.send("POST", &ask("22123A801234"), LAN, Some(&owner), Some(ext4)).await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.json);
    assert!(r.json["error"]["message"].as_str().is_some_and(|m| m.contains("privileged helper")), "{}", r.json);
    let audit = b.send("GET", "/api/v1/audit", LAN, Some(&owner), None).await;
    let tries = audit.json.as_array().expect("audit").iter().filter(|e| e["action"] == "disks.use_for_data").count();
    assert_eq!(tries, 3, "{}", audit.json);

    // Once the data lives on a disk, no other disk is offered it.
    b.state.disks.set_data_start(hearth_disks::data_home::DataStart { on: hearth_disks::data_home::DataOn::Disk, ..Default::default() });
    let r = b.send("GET", "/api/v1/disks", LAN, Some(&owner), None).await;
    assert_eq!(r.json["data"]["on"], "disk", "{}", r.json);
    let r = b.send("POST", &ask("22123A801234"), LAN, Some(&owner), Some(json!({"file_system": "btrfs"}))).await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.json);
    assert!(r.json["error"]["message"].as_str().is_some_and(|m| m.contains("already lives on a disk")), "{}", r.json);

    // The card's copy: not while the data is on the card; kept, it goes through the helper
    // (none here); freed already, nothing to do.
    let free = "/api/v1/disks/card-copy/free";
    let start = hearth_disks::data_home::DataStart { on: hearth_disks::data_home::DataOn::Disk, ..Default::default() };
    b.state.disks.set_data_start(hearth_disks::data_home::DataStart { on: hearth_disks::data_home::DataOn::Card, ..start.clone() });
    assert_eq!(b.send("POST", free, LAN, Some(&kid), None).await.status, StatusCode::FORBIDDEN);
    let r = b.send("POST", free, LAN, Some(&owner), None).await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.json);
    assert!(r.json["error"]["message"].as_str().is_some_and(|m| m.contains("does not live on a disk")), "{}", r.json);
    let kept = Some(hearth_disks::data_home::CardCopy::Kept);
    b.state.disks.set_data_start(hearth_disks::data_home::DataStart { card_copy: kept, ..start.clone() });
    let r = b.send("GET", "/api/v1/disks", LAN, Some(&owner), None).await;
    assert_eq!(r.json["data"]["card_copy"], "kept", "{}", r.json);
    let r = b.send("POST", free, LAN, Some(&owner), None).await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.json);
    assert!(r.json["error"]["message"].as_str().is_some_and(|m| m.contains("privileged helper")), "{}", r.json);
    let freed = Some(hearth_disks::data_home::CardCopy::Freed);
    b.state.disks.set_data_start(hearth_disks::data_home::DataStart { card_copy: freed, ..start.clone() });
    assert_eq!(b.send("POST", free, LAN, Some(&owner), None).await.status, StatusCode::NO_CONTENT);
    b.state.disks.set_data_start(hearth_disks::data_home::DataStart { on: hearth_disks::data_home::DataOn::Card, ..start });

    // Mirrors, scrubs and ejects: admins only; refused with the reason where they cannot be.
    let mirror = |serial: &str| format!("/api/v1/disks/{serial}/mirror");
    let add = json!({"action": "add", "erase": true});
    assert_eq!(b.send("POST", &mirror("22123A801234"), LAN, Some(&kid), Some(add.clone())).await.status, StatusCode::FORBIDDEN);
    let r = b.send("POST", &mirror("22123A801234"), LAN, Some(&owner), Some(add.clone())).await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.json);
    assert!(r.json["error"]["message"].as_str().is_some_and(|m| m.contains("not on a btrfs disk")), "{}", r.json);
    let r = b.send("POST", &mirror("22123A801234"), LAN, Some(&owner), Some(json!({"action": "grow"}))).await;
    assert!(r.status.is_client_error(), "{}", r.json);
    let r = b.send("POST", "/api/v1/disks/pool/scrub", LAN, Some(&owner), Some(json!({}))).await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.json);
    let r = b.send("GET", "/api/v1/disks", LAN, Some(&owner), None).await;
    assert!(r.json["pool"].is_null(), "no pool when the data is not on btrfs: {}", r.json);
    let eject = |serial: &str| format!("/api/v1/disks/{serial}/eject");
    assert_eq!(b.send("POST", &eject("22123A801234"), LAN, Some(&kid), None).await.status, StatusCode::FORBIDDEN);
    assert_eq!(b.send("POST", &eject("nope"), LAN, Some(&owner), None).await.status, StatusCode::NOT_FOUND);
    let r = b.send("POST", &eject("0x9a3f21c7"), LAN, Some(&owner), None).await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.json);
    assert!(r.json["error"]["message"].as_str().is_some_and(|m| m.contains("running system")), "{}", r.json);
    let r = b.send("POST", &eject("22123A801234"), LAN, Some(&owner), None).await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.json);
    assert!(r.json["error"]["message"].as_str().is_some_and(|m| m.contains("privileged helper")), "{}", r.json);
    let audit = b.send("GET", "/api/v1/audit", LAN, Some(&owner), None).await;
    let actions: Vec<&str> = audit.json.as_array().expect("audit").iter().filter_map(|e| e["action"].as_str()).collect();
    assert_eq!(actions.iter().filter(|a| **a == "disks.eject").count(), 3, "{actions:?}");
    assert_eq!(actions.iter().filter(|a| **a == "disks.mirror_add").count(), 1, "{actions:?}");
    assert_eq!(actions.iter().filter(|a| **a == "disks.scrub").count(), 1, "{actions:?}");
}

#[tokio::test]
async fn roles_are_enforced_and_the_last_owner_stays() {
    let b = new_box();
    let owner = b.claimed().await;
    let r =
        b.send("POST", "/api/v1/users", LAN, Some(&owner), Some(json!({"name": "bob", "password": "bob-password", "role": "admin"}))).await;
    assert_eq!(r.status, StatusCode::CREATED);
    let bob = session_of(&b.login("bob", "bob-password").await);
    let r =
        b.send("POST", "/api/v1/users", LAN, Some(&bob), Some(json!({"name": "eve", "password": "eve-password", "role": "owner"}))).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "an admin cannot create owners");
    let r = b.send("POST", "/api/v1/users", LAN, Some(&bob), Some(json!({"name": "cy", "password": "cy-password"}))).await;
    assert_eq!(r.status, StatusCode::CREATED);
    let r = b.send("POST", "/api/v1/users", LAN, Some(&bob), Some(json!({"name": "CY", "password": "cy-password"}))).await;
    assert_eq!(r.status, StatusCode::CONFLICT, "names are case-insensitive");
    let r = b.send("DELETE", "/api/v1/users/ada", LAN, Some(&bob), None).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = b.send("DELETE", "/api/v1/users/ada", LAN, Some(&owner), None).await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.json);
    let r = b.send("PATCH", "/api/v1/users/ada", LAN, Some(&owner), Some(json!({"role": "member"}))).await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    let r = b.send("POST", "/api/v1/users/cy/password", LAN, Some(&bob), Some(json!({"password": "new-cy-password"}))).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    assert_eq!(b.login("cy", "new-cy-password").await.status, StatusCode::OK);
    let r = b.send("DELETE", "/api/v1/users/cy", LAN, Some(&bob), None).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    let list = b.send("GET", "/api/v1/users", LAN, Some(&bob), None).await;
    let names: Vec<&str> = list.json.as_array().expect("list").iter().filter_map(|u| u["name"].as_str()).collect();
    assert_eq!(names, vec!["ada", "bob"]);
    // The local socket acts as the owner.
    let r =
        b.send("POST", "/api/v1/users", "socket", None, Some(json!({"name": "dee", "password": "dee-password", "role": "admin"}))).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.json);
}

#[tokio::test]
async fn bad_input_gets_a_clear_4xx() {
    let b = new_box();
    let s = b.claimed().await;
    let send_raw = |body: Body, ctype: Option<&str>| {
        let mut req = Request::builder().method("POST").uri("/api/v1/users").header(header::COOKIE, format!("hearth_session={s}"));
        if let Some(c) = ctype {
            req = req.header(header::CONTENT_TYPE, c);
        }
        req.body(body).expect("req")
    };
    let r = b.raw(send_raw(Body::from("{\"name\": "), Some("application/json")), LAN).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r.json["error"]["message"].as_str().expect("msg").contains("not valid JSON"), "{}", r.json);
    let r = b.raw(send_raw(Body::from("{\"name\": 5}"), Some("application/json")), LAN).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(r.json["error"]["kind"], "invalid_input");
    let r =
        b.raw(send_raw(Body::from("{\"name\": \"x\", \"password\": \"abcdefgh\", \"admin\": true}"), Some("application/json")), LAN).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "unknown fields are refused");
    let r = b.raw(send_raw(Body::from("name=x"), Some("application/x-www-form-urlencoded")), LAN).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    let big = format!("{{\"name\": \"{}\", \"password\": \"x\"}}", "a".repeat(10_000));
    let r = b.raw(send_raw(Body::from(big), Some("application/json")), LAN).await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(r.json["error"]["kind"], "too_large");
    let r = b.send("POST", "/api/v1/users", LAN, Some(&s), Some(json!({"name": "../etc", "password": "abcdefgh"}))).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    let r = b.send("POST", "/api/v1/users", LAN, Some(&s), Some(json!({"name": "ok", "password": "x".repeat(5000)}))).await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE);
    let r = b.send("GET", "/api/v1/nope", LAN, Some(&s), None).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(r.json["error"]["kind"], "not_found");
    let r = b.send("POST", "/api/v1/auth/login", LAN, None, Some(json!({"name": "ada".repeat(100), "password": "x"}))).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn health_is_public_and_lists_services() {
    let b = new_box();
    b.state.status.register("api", "task", None);
    b.state.status.set_state("api", hearth_core::service::ServiceState::Running);
    let r = b.send("GET", "/api/health", OUTSIDE, None, None).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.json["status"], "ok");
    assert_eq!(r.json["services"][0]["name"], "api");
    let page = b.send("GET", "/", OUTSIDE, None, None).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).is_some_and(|v| v.starts_with("text/html")));
}

/// Records what the API asked of the machine.
#[derive(Default)]
struct FakePower(std::sync::Mutex<Vec<&'static str>>);

impl hearth_platform::power::Power for FakePower {
    fn power_off(&self) -> std::io::Result<()> {
        self.0.lock().expect("lock").push("off");
        Ok(())
    }
    fn reboot(&self) -> std::io::Result<()> {
        self.0.lock().expect("lock").push("reboot");
        Ok(())
    }
}

#[tokio::test]
async fn power_off_and_reboot_are_for_admins_of_an_appliance_and_audited() {
    let mut b = new_box();
    let owner = b.claimed().await;
    // A developer's hearthd controls no machine.
    let r = b.send("POST", "/api/v1/system/poweroff", LAN, Some(&owner), Some(json!({}))).await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.json);

    let power = Arc::new(FakePower::default());
    b.state.power = Some(power.clone());
    let r = b.send("POST", "/api/v1/users", LAN, Some(&owner), Some(json!({"name": "kid", "password": "kid-password"}))).await;
    assert_eq!(r.status, StatusCode::CREATED);
    let kid = session_of(&b.login("kid", "kid-password").await);
    let r = b.send("POST", "/api/v1/system/poweroff", LAN, Some(&kid), Some(json!({}))).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "a member cannot power the box off");
    assert!(power.0.lock().expect("lock").is_empty());

    let r = b.send("POST", "/api/v1/system/reboot", LAN, Some(&owner), Some(json!({}))).await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.json);
    let r = b.send("POST", "/api/v1/system/poweroff", LAN, Some(&owner), Some(json!({}))).await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.json);
    assert_eq!(*power.0.lock().expect("lock"), vec!["reboot", "off"]);
    let audit = b.send("GET", "/api/v1/audit", LAN, Some(&owner), None).await;
    let actions: Vec<&str> = audit.json.as_array().expect("audit").iter().filter_map(|e| e["action"].as_str()).collect();
    assert!(actions.starts_with(&["system.poweroff", "system.reboot"]), "{actions:?}");
}

/// The web app: the page is never cached and allows only its own files and import map; each
/// file it names is served gzipped and immutable; a name from another build is a 404.
#[tokio::test]
async fn the_web_app_is_served_gzipped_named_by_content_and_locked_down() {
    let b = new_box();
    let get = |path: &str, gzip: bool| {
        let mut req = Request::builder().method("GET").uri(path);
        if gzip {
            req = req.header(header::ACCEPT_ENCODING, "gzip, deflate, br");
        }
        req.body(Body::empty()).expect("request")
    };
    let raw = |req: Request<Body>| async {
        let mut req = req;
        req.extensions_mut().insert(Peer { addr: Some(LAN.parse::<SocketAddr>().expect("addr")), tls: false, local_socket: false });
        routes::router(b.state.clone()).oneshot(req).await.expect("infallible")
    };
    let page = raw(get("/", false)).await;
    assert_eq!(page.status(), StatusCode::OK);
    assert_eq!(page.headers()[header::CACHE_CONTROL], "no-cache");
    let csp = page.headers()[header::CONTENT_SECURITY_POLICY].to_str().expect("ascii").to_string();
    assert!(csp.contains("script-src 'self' 'sha256-") && !csp.contains("unsafe-inline"), "{csp}");
    let html = String::from_utf8(page.into_body().collect().await.expect("body").to_bytes().to_vec()).expect("utf8");
    let main = html
        .split('"')
        .find(|p| p.starts_with("/app/main.") && p.ends_with(".js") && *p != "/app/main.js")
        .expect("the page names main.js")
        .to_string();
    let zipped = raw(get("/", true)).await;
    assert_eq!(zipped.headers()[header::CONTENT_ENCODING], "gzip");
    let file = raw(get(&main, true)).await;
    assert_eq!(file.status(), StatusCode::OK);
    assert_eq!(file.headers()[header::CACHE_CONTROL], "public, max-age=31536000, immutable");
    assert_eq!(file.headers()[header::CONTENT_TYPE], "text/javascript; charset=utf-8");
    assert_eq!(file.headers()[header::CONTENT_ENCODING], "gzip");
    let plain = raw(get(&main, false)).await;
    assert!(plain.headers().get(header::CONTENT_ENCODING).is_none());
    let js = plain.into_body().collect().await.expect("body").to_bytes();
    assert!(std::str::from_utf8(&js).is_ok_and(|t| t.contains("import")), "main.js unpacked for a client without gzip");
    for gone in ["/app/main.js", "/app/main.00000000.js", "/app/../Cargo.toml"] {
        assert_eq!(raw(get(gone, true)).await.status(), StatusCode::NOT_FOUND, "{gone}");
    }
}

/// QR codes for pairing: an SVG for a signed-in user; empty or huge text is a clear 400.
#[tokio::test]
async fn qr_codes_are_svg_and_bad_text_is_refused() {
    let b = new_box();
    let owner = b.claimed().await;
    let id = "MFZWI3D-BONSGYC-YLTMRWG-C43ENR5-QXGZDMM-FZWI3DP-BONSGYY-LTMRWAD";
    let r = b.send("POST", "/api/v1/qr", LAN, Some(&owner), Some(json!({ "text": id }))).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.headers[header::CONTENT_TYPE], "image/svg+xml");
    for text in [String::new(), "x".repeat(2000)] {
        let r = b.send("POST", "/api/v1/qr", LAN, Some(&owner), Some(json!({ "text": text }))).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.json);
        assert!(r.json["error"]["message"].as_str().is_some_and(|m| m.contains("QR")), "{}", r.json);
    }
}

/// The box's name and time zone are chosen at claim and changed by admins; bad values are a
/// clear 400 that changes nothing; map tiles open the page's policy to their server only.
#[tokio::test]
async fn box_settings_are_set_at_claim_and_changed_by_admins() {
    let b = new_box();
    let bad = json!({"name": "ada", "password": "lovelace-1815", "time_zone": "Mars/Olympus_Mons"});
    let r = b.send("POST", "/api/v1/setup/claim", LAN, None, Some(bad)).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.json);
    assert!(r.json["error"]["message"].as_str().is_some_and(|m| m.contains("time zone")), "{}", r.json);
    let body = json!({"name": "ada", "password": "lovelace-1815", "box_name": "  Les Martin 🏠 ", "time_zone": "Europe/Paris"});
    let r = b.send("POST", "/api/v1/setup/claim", LAN, None, Some(body)).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.json);
    let owner = session_of(&r);
    let r = b.send("GET", "/api/v1/box", LAN, Some(&owner), None).await;
    assert_eq!(r.json, json!({"name": "Les Martin 🏠", "time_zone": "Europe/Paris", "map_tiles": null}));
    assert_eq!(b.send("GET", "/api/v1/status", LAN, Some(&owner), None).await.json["device"]["name"], "Les Martin 🏠");

    let r = b.send("POST", "/api/v1/users", LAN, Some(&owner), Some(json!({"name": "cy", "password": "cy-password"}))).await;
    assert_eq!(r.status, StatusCode::CREATED);
    let member = session_of(&b.login("cy", "cy-password").await);
    assert_eq!(b.send("GET", "/api/v1/box", LAN, Some(&member), None).await.status, StatusCode::OK);
    let r = b.send("PATCH", "/api/v1/box", LAN, Some(&member), Some(json!({"name": "mine"}))).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);

    for bad in [
        json!({"name": ""}),
        json!({"name": "a\nb"}),
        json!({"name": "x".repeat(64)}),
        json!({"time_zone": "../../etc/passwd"}),
        json!({"map_tiles": "javascript:alert(1)//{z}{x}{y}"}),
        json!({"map_tiles": "https://tiles.example/{z}/{x}.png"}),
        json!({"colour": "red"}),
    ] {
        let r = b.send("PATCH", "/api/v1/box", LAN, Some(&owner), Some(bad.clone())).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{bad}: {}", r.json);
    }
    let r = b.send("GET", "/api/v1/box", LAN, Some(&owner), None).await;
    assert_eq!(r.json["name"], "Les Martin 🏠", "refused changes change nothing");

    let tiles = "https://{s}.tiles.example.org/{z}/{x}/{y}.png";
    let r = b.send("PATCH", "/api/v1/box", LAN, Some(&owner), Some(json!({"time_zone": "Asia/Tokyo", "map_tiles": tiles}))).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.json);
    assert_eq!(r.json, json!({"name": "Les Martin 🏠", "time_zone": "Asia/Tokyo", "map_tiles": tiles}));
    assert_eq!(b.state.box_settings.current().time_zone.as_str(), "Asia/Tokyo", "the running box was told");
    let kept = b.state.catalog.read(|r| hearth_catalog::settings::get(r, "box.time_zone")).expect("read");
    assert_eq!(kept.as_deref(), Some("Asia/Tokyo"), "kept in the catalog");
    let mut req = Request::builder().method("GET").uri("/").body(Body::empty()).expect("request");
    req.extensions_mut().insert(Peer { addr: Some(LAN.parse::<SocketAddr>().expect("addr")), tls: false, local_socket: false });
    let page = routes::router(b.state.clone()).oneshot(req).await.expect("infallible");
    let csp = page.headers()[header::CONTENT_SECURITY_POLICY].to_str().expect("ascii").to_string();
    assert!(csp.contains("img-src 'self' https://*.tiles.example.org blob:"), "{csp}");
    assert!(csp.contains("connect-src 'self';"), "tiles are images only: {csp}");
    let r = b.send("PATCH", "/api/v1/box", LAN, Some(&owner), Some(json!({"map_tiles": ""}))).await;
    assert_eq!(r.json["map_tiles"], Value::Null);
    let audit = b.send("GET", "/api/v1/audit", LAN, Some(&owner), None).await;
    assert!(audit.json.to_string().contains("box.settings"), "{}", audit.json);
}

/// A 400×300 JPEG of the first user's (the claimed owner's), with `checksum` all `byte`.
fn jpeg_of_ada(path: &str, byte: u8, taken_at: i64) -> NewAsset {
    NewAsset {
        owner_id: 1,
        source: hearth_catalog::assets::Source::Upload,
        path: path.into(),
        checksum: [byte; 32],
        video: false,
        format: Some("jpeg".into()),
        size_bytes: 1000,
        width: Some(400),
        height: Some(300),
        taken_at,
        taken_offset: None,
        latitude: None,
        longitude: None,
        make: None,
        model: None,
        lens: None,
        duration_ms: None,
        metadata_error: None,
        added_at: 0,
    }
}

/// "Today" for memories is the box's date where the box is, not UTC's.
#[tokio::test]
async fn memories_default_to_the_date_where_the_box_is() {
    let b = new_box();
    let owner = b.claimed().await;
    // Taken 2020-01-14 at noon (+02:00); the fake clock says 2027-01-15 08:00 UTC, which is
    // still the 14th in Honolulu.
    let photo = NewAsset { taken_offset: Some(120), ..jpeg_of_ada("library/1/noon.jpg", 7, 1_578_996_000) };
    b.state.catalog.write(|tx| hearth_catalog::assets::insert(tx, &photo)).expect("photo");
    let years = |r: &Resp| r.json["memories"].as_array().map(|m| m.iter().filter_map(|y| y["year"].as_i64()).collect::<Vec<_>>());
    let r = b.send("GET", "/api/v1/memories", LAN, Some(&owner), None).await;
    assert_eq!(years(&r), Some(vec![]), "in UTC it is the 15th: {}", r.json);
    let r = b.send("PATCH", "/api/v1/box", LAN, Some(&owner), Some(json!({"time_zone": "Pacific/Honolulu"}))).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.json);
    let r = b.send("GET", "/api/v1/memories", LAN, Some(&owner), None).await;
    assert_eq!(years(&r), Some(vec![2020]), "in Honolulu it is the 14th: {}", r.json);
}

/// Words as colours: the route's model stand-in (the real model's plumbing is proven end to end in
/// tests/tests/photos_people.rs with a model built in code).
struct Colours;

impl hearth_api::state::SentenceVectors for Colours {
    fn vector(&self, sentence: &str) -> Result<(String, Vec<f32>), hearth_api::ApiError> {
        match sentence {
            "red" => Ok(("m".into(), vec![1.0, 0.0, 0.0])),
            "green" => Ok(("m".into(), vec![0.0, 1.0, 0.0])),
            _ => Err(hearth_api::ApiError::new(hearth_core::ErrorKind::Unavailable, "the model cannot be loaded")),
        }
    }
}

/// Free-text search: 409 with guidance without a model; with one, the caller's photos nearest
/// first, with how many have vectors yet; the model's failures are the answer's.
#[tokio::test]
async fn search_by_meaning_ranks_by_the_models_vectors() {
    let mut b = new_box();
    let owner = b.claimed().await;
    let r = b.send("GET", "/api/v1/search/meaning?q=red", LAN, Some(&owner), None).await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.json);
    assert!(r.json["error"]["guidance"].as_str().is_some_and(|g| g.contains("[ml.embedding]")), "{}", r.json);
    assert_eq!(b.send("GET", "/api/v1/search/capabilities", LAN, Some(&owner), None).await.json["meaning"], false);

    b.state.sentences = Some(Arc::new(Colours));
    assert_eq!(b.send("GET", "/api/v1/search/capabilities", LAN, Some(&owner), None).await.json["meaning"], true);
    let photo = |n: u8| jpeg_of_ada(&format!("library/1/{n}.jpg"), n, 1_578_996_000 + i64::from(n));
    let ids: Vec<i64> = b
        .state
        .catalog
        .write(|tx| {
            let mut ids = Vec::new();
            for (n, v) in [(1u8, [0.9f32, 0.1, 0.0]), (2, [0.1, 0.9, 0.0]), (3, [0.7, 0.7, 0.0])] {
                let id = hearth_catalog::assets::insert(tx, &photo(n))?;
                let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
                hearth_catalog::embeddings::record(tx, id, "m", &v.map(|x| x / norm), 0)?;
                ids.push(id);
            }
            hearth_catalog::assets::insert(tx, &photo(4))?;
            Ok(ids)
        })
        .expect("photos");
    let found = |r: &Resp| r.json["assets"].as_array().map(|a| a.iter().filter_map(|x| x["id"].as_i64()).collect::<Vec<_>>());
    let r = b.send("GET", "/api/v1/search/meaning?q=red", LAN, Some(&owner), None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.json);
    assert_eq!(found(&r), Some(vec![ids[0], ids[2], ids[1]]), "{}", r.json);
    assert_eq!((r.json["covered"].as_i64(), r.json["photos"].as_i64()), (Some(3), Some(4)), "{}", r.json);
    let r = b.send("GET", "/api/v1/search/meaning?q=green&limit=1", LAN, Some(&owner), None).await;
    assert_eq!(found(&r), Some(vec![ids[1]]), "{}", r.json);
    assert!(r.json["assets"][0]["score"].as_f64().is_some_and(|s| s > 0.9), "{}", r.json);
    let r = b.send("GET", "/api/v1/search/meaning?q=blue", LAN, Some(&owner), None).await;
    assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE, "{}", r.json);
    for bad in ["/api/v1/search/meaning?q=%20", "/api/v1/search/meaning?q=red&limit=0", "/api/v1/search/meaning"] {
        assert_eq!(b.send("GET", bad, LAN, Some(&owner), None).await.status, StatusCode::BAD_REQUEST, "{bad}");
    }
}

/// Basic credentials: the account's password or an app password of that user; a backup-only
/// app password opens `/restic/` and nothing else; failures are throttled and audited.
#[tokio::test]
async fn basic_credentials_and_backup_only_app_passwords() {
    let b = new_box();
    let owner = b.claimed().await;
    let basic =
        |name: &str, password: &str| format!("Basic {}", hearth_backup::crypto::base64_encode(format!("{name}:{password}").as_bytes()));
    let with = |path: &str, value: String| {
        let req = Request::builder().method("GET").uri(path).header(header::AUTHORIZATION, value);
        req.body(Body::empty()).expect("request")
    };
    let r = b.raw(with("/api/v1/me", basic("ada", "lovelace-1815")), LAN).await;
    assert_eq!((r.status, r.json["name"].as_str()), (StatusCode::OK, Some("ada")), "{}", r.json);
    let r = b.raw(with("/api/v1/me", basic("ada", "lovelace-1816")), LAN).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);

    let token = |scope: &str| json!({"name": format!("laptop {scope}"), "scope": scope});
    let full = b.send("POST", "/api/v1/me/tokens", LAN, Some(&owner), Some(token("full"))).await;
    let full = full.json["secret"].as_str().expect("secret").to_string();
    let guarded = b.send("POST", "/api/v1/me/tokens", LAN, Some(&owner), Some(token("backup_append_only"))).await;
    assert_eq!(guarded.json["token"]["scope"], "backup_append_only", "{}", guarded.json);
    let guarded = guarded.json["secret"].as_str().expect("secret").to_string();
    assert_eq!(b.raw(with("/api/v1/me", basic("ada", &full)), LAN).await.status, StatusCode::OK);
    let r = b.raw(with("/api/v1/me", basic("ada", &guarded)), LAN).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "backup-only passwords open nothing else: {}", r.json);
    let r = b.raw(with("/restic/ada/laptop/config", basic("ada", &guarded)), LAN).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "but they open the restic endpoints: {}", r.json);
    // An app password under another user's name proves nothing.
    let r = b.send("POST", "/api/v1/users", LAN, Some(&owner), Some(json!({"name": "cy", "password": "cy-password"}))).await;
    assert_eq!(r.status, StatusCode::CREATED);
    assert_eq!(b.raw(with("/api/v1/me", basic("cy", &full)), LAN).await.status, StatusCode::UNAUTHORIZED);
    let r = b.raw(with("/restic/ada/laptop/config", basic("cy", "cy-password")), LAN).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "someone else's backups: {}", r.json);

    // Wrong passwords are throttled like logins (3 free here), and audited.
    for _ in 0..3 {
        b.raw(with("/api/v1/me", basic("ada", "guess")), LAN).await;
    }
    let r = b.raw(with("/api/v1/me", basic("ada", "lovelace-1815")), LAN).await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS, "{}", r.json);
    let audit = b.send("GET", "/api/v1/audit", LAN, Some(&owner), None).await;
    assert!(audit.json.to_string().contains("Basic credentials"), "{}", audit.json);
}

/// The box's own backups: set up by admins only, once for the password, a target tested and its
/// repository made before it is saved, jobs with defaults, runs queued without duplicates, and
/// errors about a target's credentials answered as bad input (never as a logged-out 401).
#[tokio::test]
async fn backups_are_set_up_by_admins_and_runs_are_queued() {
    let b = new_box();
    let owner = b.claimed().await;
    let usb = tempfile::tempdir().expect("usb");
    let r = b.send("GET", "/api/v1/backups", LAN, Some(&owner), None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.json);
    assert_eq!(r.json["password"], Value::Null);
    assert_eq!(r.json["alerts"][0]["kind"], "no_password");
    let folder = json!({"name": "USB disk", "target": {"kind": "folder", "path": usb.path().join("hearth")}});
    let r = b.send("POST", "/api/v1/backups/targets", LAN, Some(&owner), Some(folder.clone())).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "no password yet: {}", r.json);
    assert!(r.json["error"]["message"].as_str().is_some_and(|m| m.contains("backup password")), "{}", r.json);

    let r = b.send("POST", "/api/v1/backups/password", LAN, Some(&owner), Some(json!({}))).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.json);
    let key = r.json["recovery_key"].as_str().expect("shown once").to_string();
    assert_eq!(key.len(), 35);
    let r = b.send("POST", "/api/v1/backups/password", LAN, Some(&owner), Some(json!({"password": "something else entirely"}))).await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.json);
    let r = b.send("GET", "/api/v1/backups", LAN, Some(&owner), None).await;
    assert_eq!(r.json["password"], "recovery_key");
    assert!(!r.json.to_string().contains(&key), "the key is never shown again");

    let r = b.send("POST", "/api/v1/backups/targets/test", LAN, Some(&owner), Some(folder.clone())).await;
    assert_eq!((r.status, r.json["repository"].as_str()), (StatusCode::OK, Some("empty")), "{}", r.json);
    let sneaky = json!({"name": "x", "target": {"kind": "folder", "path": "/x", "password": "p"}});
    assert_eq!(b.send("POST", "/api/v1/backups/targets/test", LAN, Some(&owner), Some(sneaky)).await.status, StatusCode::BAD_REQUEST);
    let r = b.send("POST", "/api/v1/backups/targets", LAN, Some(&owner), Some(folder.clone())).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.json);
    let target = r.json["id"].as_i64().expect("id");
    assert!(usb.path().join("hearth/config").exists(), "the repository was made");
    assert_eq!(b.send("POST", "/api/v1/backups/targets", LAN, Some(&owner), Some(folder)).await.status, StatusCode::CONFLICT);
    // A REST server that refuses the credentials: the target's problem, answered 400.
    let rest = json!({"name": "r", "target": {"kind": "rest", "url": "http://127.0.0.1:9/repo", "user": "u"}, "secret": {"password": "p"}});
    let r = b.send("POST", "/api/v1/backups/targets/test", LAN, Some(&owner), Some(rest)).await;
    assert!(r.status.is_client_error() || r.status == StatusCode::SERVICE_UNAVAILABLE || r.status.is_server_error(), "{}", r.status);
    assert_ne!(r.status, StatusCode::UNAUTHORIZED);

    let r = b
        .send(
            "POST",
            "/api/v1/backups/jobs",
            LAN,
            Some(&owner),
            Some(json!({"name": "Nightly", "target_id": target, "schedule": "at teatime"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.json);
    let r = b.send("POST", "/api/v1/backups/jobs", LAN, Some(&owner), Some(json!({"name": "Nightly", "target_id": target}))).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.json);
    let job = r.json["id"].as_i64().expect("id");
    let r = b.send("POST", &format!("/api/v1/backups/jobs/{job}/run"), LAN, Some(&owner), None).await;
    assert_eq!((r.status, r.json["new"].as_bool()), (StatusCode::ACCEPTED, Some(true)), "{}", r.json);
    let again = b.send("POST", &format!("/api/v1/backups/jobs/{job}/run"), LAN, Some(&owner), None).await;
    assert_eq!((again.json["new"].as_bool(), &again.json["run_id"]), (Some(false), &r.json["run_id"]));
    let r = b.send("GET", "/api/v1/backups", LAN, Some(&owner), None).await;
    let j = &r.json["jobs"][0];
    assert_eq!(
        (j["schedule"].as_str(), j["keep"]["daily"].as_u64(), j["scope"]["what"].as_str()),
        (Some("daily 03:00"), Some(7), Some("everything")),
        "{j}"
    );
    assert_eq!(j["current"]["state"], "queued");
    assert!(j["next_run_at"].as_i64().is_some());
    assert_eq!(r.json["targets"][0]["kind"], "folder");
    let r = b
        .send(
            "PATCH",
            &format!("/api/v1/backups/jobs/{job}"),
            LAN,
            Some(&owner),
            Some(json!({"schedule": "weekly sun 04:00", "keep": {"last": 3}})),
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.json);
    let r = b.send("PATCH", &format!("/api/v1/backups/jobs/{job}"), LAN, Some(&owner), Some(json!({"keep": {"last": 0}}))).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "keeping nothing is refused");
    let r = b.send("GET", &format!("/api/v1/backups/runs?job={job}"), LAN, Some(&owner), None).await;
    assert_eq!(r.json["runs"].as_array().map(Vec::len), Some(1));
    let r = b.send("GET", &format!("/api/v1/backups/targets/{target}/snapshots"), LAN, Some(&owner), None).await;
    assert_eq!((r.status, r.json["snapshots"].as_array().map(Vec::len)), (StatusCode::OK, Some(0)), "{}", r.json);
    let r = b
        .send(
            "POST",
            &format!("/api/v1/backups/targets/{target}/restore"),
            LAN,
            Some(&owner),
            Some(json!({"snapshot": "../x", "destination": "new_folder"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        b.send("POST", &format!("/api/v1/backups/targets/{target}/drill"), LAN, Some(&owner), None).await.status,
        StatusCode::ACCEPTED
    );
    assert_eq!(b.send("DELETE", &format!("/api/v1/backups/targets/{target}"), LAN, Some(&owner), None).await.status, StatusCode::CONFLICT);
    assert_eq!(b.send("DELETE", &format!("/api/v1/backups/jobs/{job}"), LAN, Some(&owner), None).await.status, StatusCode::NO_CONTENT);
    assert_eq!(
        b.send("DELETE", &format!("/api/v1/backups/targets/{target}"), LAN, Some(&owner), None).await.status,
        StatusCode::NO_CONTENT
    );
    let audit = b.send("GET", "/api/v1/audit", LAN, Some(&owner), None).await;
    assert!(audit.json.to_string().contains("backup.target.add"), "{}", audit.json);
}

/// Updates: for admins only; a hearthd without slots says so; going back puts the other slot on
/// trial, restarts the box and is audited; a channel that is not http(s) is refused.
#[tokio::test]
async fn updates_are_for_admins_and_going_back_restarts_into_the_other_slot() {
    use hearth_ota::boot_state::{BootState, BootStateFiles, SlotName};
    use hearth_ota::updates::{Control, Updates};
    let mut b = new_box();
    let owner = b.claimed().await;
    let r = b.send("POST", "/api/v1/users", LAN, Some(&owner), Some(json!({"name": "kid", "password": "kid-password"}))).await;
    assert_eq!(r.status, StatusCode::CREATED);
    let kid = session_of(&b.login("kid", "kid-password").await);
    let r = b.send("GET", "/api/v1/updates", LAN, Some(&kid), None).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = b.send("GET", "/api/v1/updates", LAN, Some(&owner), None).await;
    assert_eq!((r.status, &r.json["available"]), (StatusCode::OK, &json!(false)), "{}", r.json);
    let r = b.send("POST", "/api/v1/updates/install", LAN, Some(&owner), None).await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.json);
    let r = b.send("PUT", "/api/v1/updates/channel", LAN, Some(&owner), Some(json!({"url": "ftp://updates.example/index.json"}))).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.json);

    // A folder standing in for the box: slot a runs 1.0.0, slot b holds 0.9.0.
    let dir = tempfile::tempdir().expect("dir");
    let folder = dir.path();
    for sub in ["boot", "keys"] {
        std::fs::create_dir_all(folder.join(sub)).expect("dir");
    }
    std::fs::write(folder.join("slot-a.img"), vec![0u8; 4096]).expect("a");
    std::fs::write(folder.join("slot-b.img"), vec![0u8; 4096]).expect("b");
    std::fs::write(folder.join("release"), "HEARTH_BOARD=dev\nHEARTH_VERSION=1.0.0\nHEARTH_SLOT=a\n").expect("release");
    let mut state = BootState::committed(SlotName::A);
    state.set_version(SlotName::A, Some("1.0.0".parse().expect("v")));
    state.set_version(SlotName::B, Some("0.9.0".parse().expect("v")));
    BootStateFiles::new(folder.join("boot")).write(&state).expect("state");
    let layout = hearth_ota::layout::Layout::folder(folder).expect("layout");
    b.state.updates = Arc::new(Updates::new(
        Some(layout),
        Control::InProcess(Default::default()),
        folder.join("records"),
        folder.join("records/record.json"),
        None,
    ));
    let r = b.send("POST", "/api/v1/updates/go-back", LAN, Some(&owner), None).await;
    assert_eq!(r.status, StatusCode::CONFLICT, "a hearthd that controls no machine cannot restart into it: {}", r.json);
    let power = Arc::new(FakePower::default());
    b.state.power = Some(power.clone());
    let r = b.send("GET", "/api/v1/updates", LAN, Some(&owner), None).await;
    assert_eq!((&r.json["can_go_back"], &r.json["other"]["version"]), (&json!(true), &json!("0.9.0")), "{}", r.json);
    let r = b.send("POST", "/api/v1/updates/go-back", LAN, Some(&kid), None).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = b.send("POST", "/api/v1/updates/go-back", LAN, Some(&owner), None).await;
    assert_eq!((r.status, &r.json["version"]), (StatusCode::ACCEPTED, &json!("0.9.0")), "{}", r.json);
    assert_eq!(*power.0.lock().expect("lock"), vec!["reboot"]);
    let s = BootStateFiles::new(folder.join("boot")).read().state;
    assert_eq!((s.good, s.trial, s.next_boot()), (SlotName::A, Some(SlotName::B), SlotName::B));
    let r = b.send("GET", "/api/v1/updates", LAN, Some(&owner), None).await;
    assert_eq!((&r.json["can_go_back"], &r.json["last"]["kind"]), (&json!(false), &json!("went_back")), "{}", r.json);
    let audit = b.send("GET", "/api/v1/audit", LAN, Some(&owner), None).await;
    assert!(audit.json.as_array().expect("audit").iter().any(|e| e["action"] == "update.go_back"), "{}", audit.json);
}

/// The Calendars & contacts page's routes (docs/api.md): the defaults made at the first look, a
/// calendar made, renamed, shared with a member who sees it and leaves it, refusals, deleted.
#[tokio::test]
async fn calendars_are_made_shared_left_and_deleted() {
    let b = new_box();
    let ada = b.claimed().await;
    let r = b.send("POST", "/api/v1/users", LAN, Some(&ada), Some(json!({"name": "kid", "password": "kid-password"}))).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.json);
    let kid = session_of(&b.login("kid", "kid-password").await);
    let r = b.send("GET", "/api/v1/calendars", LAN, Some(&ada), None).await;
    let names: Vec<&str> = r.json["collections"].as_array().expect("list").iter().filter_map(|c| c["name"].as_str()).collect();
    assert_eq!(names, ["personal", "contacts"], "{}", r.json);
    let r = b
        .send(
            "POST",
            "/api/v1/calendars",
            LAN,
            Some(&ada),
            Some(json!({"kind": "calendar", "display_name": "Football ⚽", "color": "#2e7d32"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.json);
    assert_eq!(
        (&r.json["name"], &r.json["color"], &r.json["href"]),
        (&json!("football"), &json!("#2E7D32"), &json!("/dav/calendars/ada/football/"))
    );
    for bad in [
        json!({"kind": "calendar", "display_name": ""}),
        json!({"kind": "calendar", "display_name": "x", "color": "red"}),
        json!({"kind": "diary", "display_name": "x"}),
    ] {
        let r = b.send("POST", "/api/v1/calendars", LAN, Some(&ada), Some(bad.clone())).await;
        assert!(r.status.is_client_error(), "{bad}: {}", r.status);
    }
    let r = b.send("PATCH", "/api/v1/calendars/calendar/football", LAN, Some(&ada), Some(json!({"display_name": "Football"}))).await;
    assert_eq!(r.json["display_name"], "Football", "{}", r.json);
    let r = b.send("PUT", "/api/v1/calendars/calendar/football/members/kid", LAN, Some(&ada), Some(json!({"access": "read"}))).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.json);
    assert_eq!(
        b.send("PUT", "/api/v1/calendars/calendar/football/members/ada", LAN, Some(&ada), Some(json!({"access": "read"}))).await.status,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        b.send("PUT", "/api/v1/calendars/calendar/football/members/nobody", LAN, Some(&ada), Some(json!({"access": "read"}))).await.status,
        StatusCode::NOT_FOUND
    );
    let r = b.send("GET", "/api/v1/calendars", LAN, Some(&ada), None).await;
    let football = r.json["collections"].as_array().expect("list").iter().find(|c| c["name"] == "football").cloned().expect("football");
    assert_eq!(football["members"], json!([{"name": "kid", "access": "read"}]));
    let r = b.send("GET", "/api/v1/calendars", LAN, Some(&kid), None).await;
    let shared = r.json["collections"].as_array().expect("list").iter().find(|c| c["name"] == "ada~football").cloned().expect("shared");
    assert_eq!(
        (&shared["shared_by"], &shared["access"], &shared["href"]),
        (&json!("ada"), &json!("read"), &json!("/dav/calendars/kid/ada~football/"))
    );
    // The member may not rename, share or delete it for its owner; deleting it leaves it.
    assert_eq!(
        b.send("PATCH", "/api/v1/calendars/calendar/ada~football", LAN, Some(&kid), Some(json!({"display_name": "Mine"}))).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        b.send("PUT", "/api/v1/calendars/calendar/ada~football/members/kid", LAN, Some(&kid), Some(json!({"access": "write"})))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(b.send("DELETE", "/api/v1/calendars/calendar/ada~football", LAN, Some(&kid), None).await.status, StatusCode::NO_CONTENT);
    let r = b.send("GET", "/api/v1/calendars", LAN, Some(&ada), None).await;
    let football = r.json["collections"].as_array().expect("list").iter().find(|c| c["name"] == "football").cloned().expect("still Ada's");
    assert_eq!(football["members"], json!([]));
    assert_eq!(
        b.send("DELETE", "/api/v1/calendars/calendar/football/members/kid", LAN, Some(&ada), None).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(b.send("DELETE", "/api/v1/calendars/calendar/football", LAN, Some(&ada), None).await.status, StatusCode::NO_CONTENT);
    assert_eq!(b.send("DELETE", "/api/v1/calendars/calendar/football", LAN, Some(&ada), None).await.status, StatusCode::NOT_FOUND);
    // CalDAV clients send Basic credentials once asked: every DAV address asks, with or without its slash.
    for path in ["/dav", "/dav/", "/dav/calendars/ada/", "/remote.php/dav/addressbooks/users/ada/"] {
        let r = b.send("PROPFIND", path, LAN, None, None).await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{path}");
        let challenge = r.headers.get(header::WWW_AUTHENTICATE).and_then(|v| v.to_str().ok()).unwrap_or("");
        assert!(challenge.starts_with("Basic"), "{path}: {challenge:?}");
    }
}
