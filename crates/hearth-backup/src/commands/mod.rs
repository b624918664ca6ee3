//! One module per operation, used by `hearth backup …` and by hearthd.

pub mod backup;
pub mod check;
pub mod diff;
pub mod forget;
pub mod key;
pub mod ls;
pub mod prune;
pub mod restore;
pub mod stats;
