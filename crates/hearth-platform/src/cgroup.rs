//! cgroup v2 groups that keep each service inside its memory, CPU and IO share.
//!
//! Layout under the group hearthd was started in (`BASE`, from `/proc/self/cgroup`):
//!
//! ```text
//! BASE/cgroup.subtree_control   "+memory +cpu +io" (those the kernel offers)
//! BASE/daemon/                  hearthd itself (tasks: API, sync, mDNS); the daemon budget
//! BASE/<service>/               one per worker kind (thumbnail, ml, backup, maintenance)
//! ```
//!
//! cgroup v2 allows processes only in leaves once controllers are enabled for children, which is
//! why hearthd moves itself into `daemon/` first. Where any of this is impossible (cgroup v1
//! hosts, a read-only /sys/fs/cgroup, an unprivileged dev checkout) [`detect`] returns the reason
//! and the supervisor runs without limits, logging it once.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use hearth_core::board::Budget;

/// On the appliance, the group rcS makes for hearthd and delegates to the `hearth` user
/// (docs/image.md): hearthd joins it as root, before dropping root, and manages its parent.
pub const APPLIANCE_GROUP: &str = "/sys/fs/cgroup/hearth/daemon";

/// Move this process into `group`.
pub fn move_self_into(group: &Path) -> io::Result<()> {
    fs::write(group.join("cgroup.procs"), std::process::id().to_string())
}

/// A cgroup v2 subtree Hearth may manage.
#[derive(Debug, Clone)]
pub struct CgroupTree {
    base: PathBuf,
    controllers: Vec<String>,
}

/// The path of this process's cgroup v2 group, from the text of `/proc/self/cgroup`.
pub fn own_group(proc_self_cgroup: &str) -> Option<String> {
    proc_self_cgroup.lines().find_map(|l| l.strip_prefix("0::")).map(|p| p.trim().to_string())
}

/// Find a manageable cgroup v2 tree, or say why there is none.
///
/// `root` is the cgroup2 mount (`/sys/fs/cgroup`), `proc_self_cgroup` the text of
/// `/proc/self/cgroup`.
pub fn detect(root: &Path, proc_self_cgroup: &str) -> Result<CgroupTree, String> {
    if !root.join("cgroup.controllers").exists() {
        return Err(format!("{} is not a cgroup v2 mount", root.display()));
    }
    let Some(own) = own_group(proc_self_cgroup) else {
        return Err("this process is not in a cgroup v2 group".into());
    };
    let base = root.join(own.trim_start_matches('/'));
    // When an earlier start already moved us into `daemon/`, manage its parent.
    let base = if base.file_name().is_some_and(|n| n == "daemon") { base.parent().map(Path::to_path_buf).unwrap_or(base) } else { base };
    let controllers_text = fs::read_to_string(base.join("cgroup.controllers"))
        .map_err(|e| format!("cannot read {}: {e}", base.join("cgroup.controllers").display()))?;
    let wanted = ["memory", "cpu", "io"];
    let controllers: Vec<String> = controllers_text.split_whitespace().filter(|c| wanted.contains(c)).map(str::to_string).collect();
    if !controllers.iter().any(|c| c == "memory") {
        return Err(format!("the memory controller is not available in {}", base.display()));
    }
    let probe = base.join("hearth-probe");
    fs::create_dir(&probe).and_then(|()| fs::remove_dir(&probe)).map_err(|e| format!("{} is not writable: {e}", base.display()))?;
    Ok(CgroupTree { base, controllers })
}

impl CgroupTree {
    /// The group hearthd manages.
    pub fn base(&self) -> &Path {
        &self.base
    }

    /// Move `daemon_pid` into `daemon/`, enable the controllers for children and apply the
    /// daemon's budget.
    pub fn setup(&self, daemon_pid: u32, daemon: &Budget) -> io::Result<PathBuf> {
        let group = self.base.join("daemon");
        ensure_dir(&group)?;
        fs::write(group.join("cgroup.procs"), daemon_pid.to_string())?;
        let enable: Vec<String> = self.controllers.iter().map(|c| format!("+{c}")).collect();
        fs::write(self.base.join("cgroup.subtree_control"), enable.join(" "))?;
        self.apply(&group, daemon)?;
        Ok(group)
    }

    /// Create (or update) the group for `service` with `budget`; returns its path.
    pub fn group_for(&self, service: &str, budget: &Budget) -> io::Result<PathBuf> {
        if service.is_empty() || service.contains('/') || service.starts_with('.') {
            return Err(io::Error::new(io::ErrorKind::InvalidInput, format!("bad service name {service:?}")));
        }
        let group = self.base.join(service);
        ensure_dir(&group)?;
        self.apply(&group, budget)?;
        // A worker past its budget goes whole: the kernel's OOM killer takes every process of the
        // group (the worker and its heif-convert or ffmpeg child), so the supervisor sees the
        // worker die and sets its job aside, rather than a worker carrying on with a child's
        // half-done job. The daemon's group is not one: there, the kernel picks one process.
        if self.controllers.iter().any(|c| c == "memory")
            && let Err(e) = fs::write(group.join("memory.oom.group"), "1")
        {
            tracing::debug!(group = %group.display(), error = %e, "memory.oom.group not applied");
        }
        Ok(group)
    }

    /// Move a process into a group.
    pub fn add_process(&self, group: &Path, pid: u32) -> io::Result<()> {
        fs::write(group.join("cgroup.procs"), pid.to_string())
    }

    /// The group's current memory use in bytes, when the kernel reports it.
    pub fn memory_current(&self, group: &Path) -> Option<u64> {
        fs::read_to_string(group.join("memory.current")).ok()?.trim().parse().ok()
    }

    fn apply(&self, group: &Path, budget: &Budget) -> io::Result<()> {
        let has = |c: &str| self.controllers.iter().any(|x| x == c);
        if has("memory") {
            fs::write(group.join("memory.max"), (budget.memory_mib * 1024 * 1024).to_string())?;
            // Let the service swap nothing: on an SD card swap is worse than a restart.
            let _ = fs::write(group.join("memory.swap.max"), "0");
        }
        if has("cpu") {
            fs::write(group.join("cpu.weight"), budget.cpu_weight.to_string())?;
        }
        if has("io") {
            // io.weight needs the BFQ scheduler on some kernels; a refusal is not fatal.
            if let Err(e) = fs::write(group.join("io.weight"), format!("default {}", budget.io_weight)) {
                tracing::debug!(group = %group.display(), error = %e, "io.weight not applied");
            }
        }
        Ok(())
    }
}

fn ensure_dir(p: &Path) -> io::Result<()> {
    match fs::create_dir(p) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fake_root(controllers: &str) -> tempfile::TempDir {
        let dir = tempfile::tempdir().expect("tempdir");
        fs::write(dir.path().join("cgroup.controllers"), controllers).expect("w");
        fs::create_dir_all(dir.path().join("hearth.service")).expect("mkdir");
        fs::write(dir.path().join("hearth.service/cgroup.controllers"), controllers).expect("w");
        dir
    }

    #[test]
    fn parses_own_group() {
        assert_eq!(own_group("12:cpu:/x\n0::/system.slice/hearth.service\n").as_deref(), Some("/system.slice/hearth.service"));
        assert_eq!(own_group("4:memory:/a\n"), None);
    }

    #[test]
    fn refuses_v1_and_missing_memory() {
        let dir = tempfile::tempdir().expect("tempdir");
        assert!(detect(dir.path(), "0::/").expect_err("v1").contains("not a cgroup v2"));
        let dir = fake_root("cpu io pids");
        assert!(detect(dir.path(), "0::/hearth.service").expect_err("mem").contains("memory controller"));
    }

    #[test]
    fn sets_up_daemon_and_worker_groups() {
        let dir = fake_root("cpuset cpu io memory pids");
        let tree = detect(dir.path(), "0::/hearth.service\n").expect("v2");
        let budget = Budget { memory_mib: 320, cpu_weight: 400, io_weight: 300 };
        let daemon = tree.setup(4242, &budget).expect("setup");
        let base = dir.path().join("hearth.service");
        assert_eq!(fs::read_to_string(daemon.join("cgroup.procs")).expect("r"), "4242");
        assert_eq!(fs::read_to_string(base.join("cgroup.subtree_control")).expect("r"), "+cpu +io +memory");
        assert_eq!(fs::read_to_string(daemon.join("memory.max")).expect("r"), (320u64 << 20).to_string());
        assert_eq!(fs::read_to_string(daemon.join("cpu.weight")).expect("r"), "400");
        assert_eq!(fs::read_to_string(daemon.join("io.weight")).expect("r"), "default 300");
        let ml = tree.group_for("ml", &Budget { memory_mib: 512, cpu_weight: 25, io_weight: 25 }).expect("ml");
        tree.add_process(&ml, 77).expect("add");
        assert_eq!(fs::read_to_string(ml.join("memory.max")).expect("r"), (512u64 << 20).to_string());
        assert_eq!(fs::read_to_string(ml.join("memory.oom.group")).expect("r"), "1", "a worker over budget goes whole");
        assert!(!daemon.join("memory.oom.group").exists(), "the daemon's group is not killed whole");
        assert!(tree.group_for("../escape", &budget).is_err());
        // A restart finds itself in daemon/ and manages the same base.
        let again = detect(dir.path(), "0::/hearth.service/daemon\n").expect("v2");
        assert_eq!(again.base(), base);
    }
}
