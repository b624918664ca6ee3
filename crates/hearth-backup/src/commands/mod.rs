//! One module per operation.

pub mod backup;
pub mod check;
pub mod ls;
pub mod restore;
