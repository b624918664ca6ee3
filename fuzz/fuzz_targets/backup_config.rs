//! The backup config: the outer JSON (readable without a password) and the validated body.
#![no_main]
use hearth_backup::repo_config::RepoConfig;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = RepoConfig::peek(data);
    if let Ok(cfg) = RepoConfig::parse(data) {
        assert!(cfg.chunker.validate().is_ok());
    }
});
