//! The workspace obeys the tier rules (read from `cargo metadata`).

use hearth_tests::daemon::workspace;
use hearth_tests::tiers;

#[test]
fn crates_depend_only_on_lower_tiers_and_forbid_unsafe() {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = std::process::Command::new(cargo)
        .current_dir(workspace())
        .args(["metadata", "--format-version", "1", "--no-deps", "--offline"])
        .output()
        .expect("cargo metadata");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let meta: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    let packages = meta["packages"].as_array().map(Vec::len).unwrap_or(0);
    assert!(packages >= 9, "expected the whole workspace, got {packages} packages");
    let v = tiers::violations(&meta);
    assert!(v.is_empty(), "tier rules broken:\n{}", v.join("\n"));
    let l = tiers::lint_violations(&meta);
    assert!(l.is_empty(), "lint rules broken:\n{}", l.join("\n"));
}
