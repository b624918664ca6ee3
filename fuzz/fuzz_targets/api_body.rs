//! Arbitrary request bodies, headers and paths against the public API routes of a real router
//! over a real catalog: every answer is an HTTP response (4xx for garbage), never a panic.
#![no_main]
use std::sync::{Arc, OnceLock};

use axum::body::Body;
use axum::http::Request;
use hearth_api::AppState;
use libfuzzer_sys::fuzz_target;
use tower::ServiceExt;

struct Env {
    rt: tokio::runtime::Runtime,
    state: AppState,
    _dir: tempfile::TempDir,
}

fn env() -> &'static Env {
    static ENV: OnceLock<Env> = OnceLock::new();
    ENV.get_or_init(|| {
        let dir = tempfile::tempdir().expect("tempdir");
        let (catalog, _) = hearth_catalog::Catalog::open(&dir.path().join("hearth.db")).expect("catalog");
        let config = hearth_core::config::Config::default();
        let state = AppState {
            catalog: Arc::new(catalog),
            throttle: Arc::new(hearth_api::auth::throttle::Throttle::new(&config.accounts)),
            config: Arc::new(config),
            board: Arc::new(hearth_core::board::BoardProfile::builtin("dev").expect("dev")),
            status: Default::default(),
            clock: Arc::new(hearth_platform::clock::FakeClock::at(1_800_000_000)),
            setup: Arc::new(hearth_api::setup_code::SetupCode::prepare(dir.path(), true).expect("code")),
            local_networks: Arc::new(Vec::new()),
            device: Arc::new(hearth_api::state::DeviceInfo {
                id: "0".repeat(32),
                name: "fuzz".into(),
                version: "0".into(),
                board: "dev".into(),
                https_port: None,
                cert_sha256: None,
                sync_device_id: None,
            }),
            data_dir: dir.path().to_path_buf(),
            sync: None,
            power: None,
            live: Default::default(),
            box_settings: hearth_api::box_settings::LiveSettings::new(hearth_core::box_settings::BoxSettings::defaults(
                hearth_core::box_settings::BoxName::parse("fuzz").expect("name"),
            )),
            verified_passwords: Default::default(),
        memberships: Default::default(),
        disks: Default::default(),
        link_tokens: Default::default(),
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
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("rt");
        Env { rt, state, _dir: dir }
    })
}

const ROUTES: &[(&str, &str)] = &[
    ("POST", "/api/v1/auth/login"),
    ("POST", "/api/v1/setup/claim"),
    ("GET", "/api/v1/me"),
    ("POST", "/api/v1/users"),
    ("GET", "/api/v1/audit"),
];

fuzz_target!(|data: &[u8]| {
    if data.len() < 2 {
        return;
    }
    let (method, path) = ROUTES[usize::from(data[0]) % ROUTES.len()];
    let cookie = data[1] & 1 == 1;
    let body = data[2..].to_vec();
    let e = env();
    let mut req = Request::builder().method(method).uri(path).header("content-type", "application/json");
    if cookie {
        req = req.header("cookie", format!("hearth_session={}", String::from_utf8_lossy(&body[..body.len().min(64)])));
    }
    let Ok(req) = req.body(Body::from(body)) else { return };
    let router = hearth_api::routes::router(e.state.clone());
    let resp = e.rt.block_on(router.oneshot(req)).expect("infallible");
    assert!(resp.status().as_u16() < 500 || resp.status().as_u16() == 507, "server error {} for {method} {path}", resp.status());
});
