//! The version Hearth reports in `/api/health`, mDNS TXT records and `hearth status`.

/// The crate version of this build (all Hearth crates share one version).
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
