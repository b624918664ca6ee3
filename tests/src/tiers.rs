//! The tier rules of DESIGN.md: a crate depends only on crates of lower tiers (so domain crates
//! never depend on each other), every crate declares its tier, and only the platform crate may
//! relax the workspace's `unsafe_code = "forbid"`.

use serde_json::Value;

/// Tier of a workspace package from `[package.metadata.hearth] tier`, `None` for the tests crate.
fn tier(pkg: &Value) -> Result<Option<i64>, String> {
    let name = pkg["name"].as_str().unwrap_or("?");
    match &pkg["metadata"]["hearth"]["tier"] {
        Value::Number(n) => n.as_i64().map(Some).ok_or_else(|| format!("{name}: tier is not an integer")),
        Value::String(s) if s == "tests" => Ok(None),
        _ => Err(format!("{name}: no [package.metadata.hearth] tier")),
    }
}

/// Every broken rule in `cargo metadata --format-version 1 --no-deps` output.
pub fn violations(metadata: &Value) -> Vec<String> {
    let mut out = Vec::new();
    let Some(packages) = metadata["packages"].as_array() else { return vec!["no packages in metadata".into()] };
    let tiers: std::collections::HashMap<String, Option<i64>> = packages
        .iter()
        .filter_map(|p| match tier(p) {
            Ok(t) => Some((p["name"].as_str().unwrap_or("?").to_string(), t)),
            Err(e) => {
                out.push(e);
                None
            }
        })
        .collect();
    for p in packages {
        let name = p["name"].as_str().unwrap_or("?");
        let Some(Some(own)) = tiers.get(name) else { continue };
        for dep in p["dependencies"].as_array().into_iter().flatten() {
            let dep_name = dep["name"].as_str().unwrap_or("?");
            if dep["kind"].as_str() == Some("dev") {
                continue;
            }
            match tiers.get(dep_name) {
                Some(Some(t)) if t >= own => {
                    out.push(format!("{name} (tier {own}) depends on {dep_name} (tier {t}): a crate may depend only on lower tiers"))
                }
                Some(None) => out.push(format!("{name} depends on the tests crate {dep_name}")),
                _ => {}
            }
        }
    }
    out
}

/// Crates whose manifest does not inherit the workspace lints (only the platform crate may
/// override them, to allow audited `unsafe`).
pub fn lint_violations(metadata: &Value) -> Vec<String> {
    let mut out = Vec::new();
    for p in metadata["packages"].as_array().into_iter().flatten() {
        let name = p["name"].as_str().unwrap_or("?");
        let Some(path) = p["manifest_path"].as_str() else { continue };
        let text = std::fs::read_to_string(path).unwrap_or_default();
        let inherits = text.contains("[lints]\nworkspace = true");
        if name == "hearth-platform" {
            if !text.contains("unsafe_code = \"deny\"") && !inherits {
                out.push(format!("{name}: must keep unsafe_code at deny (allowed per item, audited)"));
            }
        } else if !inherits {
            out.push(format!("{name}: must inherit the workspace lints ([lints] workspace = true), which forbid unsafe code"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn pkg(name: &str, tier: Value, deps: &[(&str, Option<&str>)]) -> Value {
        json!({
            "name": name,
            "metadata": {"hearth": {"tier": tier}},
            "dependencies": deps.iter().map(|(d, k)| json!({"name": d, "kind": k})).collect::<Vec<_>>(),
        })
    }

    #[test]
    fn detects_same_tier_and_upward_dependencies() {
        let meta = json!({"packages": [
            pkg("core", json!(0), &[]),
            pkg("sync", json!(2), &[("core", None), ("photos", None)]),
            pkg("photos", json!(2), &[("core", None), ("api", Some("dev"))]),
            pkg("api", json!(3), &[("sync", None)]),
            pkg("platform", json!(1), &[("api", None)]),
        ]});
        let v = violations(&meta);
        assert_eq!(v.len(), 2, "{v:?}");
        assert!(v[0].contains("sync (tier 2) depends on photos (tier 2)"));
        assert!(v[1].contains("platform (tier 1) depends on api (tier 3)"));
    }

    #[test]
    fn a_crate_without_a_tier_is_reported() {
        let meta = json!({"packages": [{"name": "stray", "metadata": null, "dependencies": []}]});
        assert_eq!(violations(&meta), vec!["stray: no [package.metadata.hearth] tier".to_string()]);
    }
}
