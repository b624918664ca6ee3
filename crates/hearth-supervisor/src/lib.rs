//! The supervisor: the tree of Hearth's services.
//!
//! - [`policy`]: restart backoff and quarantine rules, as data so tests can shrink the times.
//! - [`tree`]: [`Supervisor`], which runs light services as tokio tasks and heavy ones as child
//!   processes of the same binary (`hearthd worker KIND`), tracks each one's state on the shared
//!   status board, restarts with exponential backoff, quarantines a service that keeps crashing,
//!   and shuts everything down in order within a bound.
//! - [`limits`]: applying the board's budgets through cgroup v2, or saying once that limits are
//!   off.
//! - [`watchdog`]: feeding the hardware watchdog while the supervisor is healthy.

pub mod limits;
pub mod policy;
pub mod tree;
pub mod watchdog;

pub use limits::Limits;
pub use policy::RestartPolicy;
pub use tree::{Supervisor, WorkerSpec};
