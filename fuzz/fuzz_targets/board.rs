//! board.toml: any bytes give a validated profile or an error, never a panic.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(p) = hearth_core::board::BoardProfile::from_toml(text) {
            let total: u64 = p.budgets.values().map(|b| b.memory_mib).sum();
            assert!(total <= p.ram_mib * 4 / 5, "validation let an over-budget profile through");
        }
    }
});
