//! What the family types into the backup service (schedules, recovery keys, places, scopes,
//! restore requests) comes from any client. Parsing never panics; what is accepted prints back
//! to itself, and a scope or restore path it accepts never climbs out of the data folder.
#![no_main]
use std::path::{Component, Path};

use hearth_backup::service::backup_key::BackupPassword;
use hearth_backup::service::job::Scope;
use hearth_backup::service::restore::RestoreRequest;
use hearth_backup::service::schedule::Schedule;
use hearth_backup::service::target::{TargetSecret, TargetSpec};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    if let Ok(s) = Schedule::parse(&text) {
        assert_eq!(Schedule::parse(&s.to_string()).ok(), Some(s));
        if let Some(next) = s.next_after(1_800_000_000, &jiff::tz::TimeZone::UTC) {
            assert!(next > 1_800_000_000);
        }
    }
    if let Ok(p) = BackupPassword::recovery_key(&text) {
        let again = std::str::from_utf8(p.as_bytes()).ok().and_then(|t| BackupPassword::recovery_key(t).ok());
        assert_eq!(again, Some(p));
    }
    if let Ok(spec) = serde_json::from_slice::<TargetSpec>(data) {
        let secret = TargetSecret { password: Some("p".into()), secret_access_key: Some("s".into()) };
        if let Ok(v) = spec.validated(&secret) {
            let _ = v.location();
        }
    }
    if let Ok(scope) = serde_json::from_slice::<Scope>(data)
        && let Ok(Scope::Paths { paths }) = scope.validated()
    {
        for p in paths {
            assert!(Path::new(&p).components().all(|c| matches!(c, Component::Normal(_))), "{p:?}");
        }
    }
    if let Ok(r) = serde_json::from_slice::<RestoreRequest>(data)
        && let Ok(r) = r.validated()
        && let Some(p) = r.path
    {
        assert!(!Path::new(&p).components().any(|c| matches!(c, Component::ParentDir)), "{p:?}");
    }
});
