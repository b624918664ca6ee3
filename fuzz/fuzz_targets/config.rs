//! hearth.toml: any bytes give a config or an error with a position, never a panic.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        if let Err(e) = hearth_core::config::Config::from_toml(text) {
            if let Some(line) = e.line {
                assert!(line >= 1 && line <= text.lines().count().max(1) + 1);
            }
            let _ = e.to_string();
        }
    }
});
