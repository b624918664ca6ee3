//! Resource limits per service, from the board profile, through cgroup v2.

use std::path::{Path, PathBuf};

use hearth_core::board::BoardProfile;
use hearth_platform::cgroup::{self, CgroupTree};

/// Whether limits are applied.
#[derive(Debug, Clone)]
pub enum Limits {
    /// cgroup v2 is usable: each worker kind gets its own group.
    On {
        /// The managed tree.
        tree: CgroupTree,
        /// The board's budgets.
        board: BoardProfile,
    },
    /// No limits, and why (logged once at start).
    Off(String),
}

impl Limits {
    /// Detect cgroup v2 at `/sys/fs/cgroup`, move the daemon into its own group with the board's
    /// `daemon` budget, and return `On`; or `Off` with the reason.
    pub fn detect(board: &BoardProfile) -> Limits {
        Self::detect_at(
            Path::new("/sys/fs/cgroup"),
            &std::fs::read_to_string("/proc/self/cgroup").unwrap_or_default(),
            board,
            std::process::id(),
        )
    }

    /// [`Limits::detect`] against any cgroup root (tests use a fake tree).
    pub fn detect_at(root: &Path, proc_self_cgroup: &str, board: &BoardProfile, pid: u32) -> Limits {
        let tree = match cgroup::detect(root, proc_self_cgroup) {
            Ok(t) => t,
            Err(reason) => return Limits::Off(reason),
        };
        let Some(daemon) = board.budget("daemon") else {
            return Limits::Off("the board profile has no daemon budget".into());
        };
        match tree.setup(pid, &daemon) {
            Ok(_) => Limits::On { tree, board: board.clone() },
            Err(e) => Limits::Off(format!("cannot set up cgroups under {}: {e}", tree.base().display())),
        }
    }

    /// The group for a worker kind, created with its budget (or the daemon's when the board has
    /// none for it). `None` when limits are off or the group cannot be made.
    pub fn group_for(&self, kind: &str) -> Option<(PathBuf, u64)> {
        let Limits::On { tree, board } = self else { return None };
        let budget = board.budget(kind).or_else(|| board.budget("daemon"))?;
        match tree.group_for(kind, &budget) {
            Ok(p) => Some((p, budget.memory_mib * 1024 * 1024)),
            Err(e) => {
                tracing::warn!(kind, error = %e, "cannot create the worker's cgroup; it runs without limits");
                None
            }
        }
    }

    /// Put `pid` into `group`.
    pub fn add(&self, group: &Path, pid: u32) {
        if let Limits::On { tree, .. } = self
            && let Err(e) = tree.add_process(group, pid)
        {
            tracing::warn!(pid, group = %group.display(), error = %e, "cannot move the worker into its cgroup");
        }
    }
}
