//! Board profiles: what a board has and how its RAM and CPU are shared between services.
//!
//! One `board/<name>/board.toml` per board, embedded into the binary at build time so a board
//! needs no file on disk. The supervisor reads the budgets; backup and sync pick their cipher from
//! [`BoardProfile::aes`]; ML picks CPU or NPU from [`BoardProfile::npu`] and how the CPU computes
//! from [`BoardProfile::ml_arithmetic`].

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::config::{ConfigError, locate};

/// The NPU a board has.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Npu {
    /// No NPU: ML runs on the CPU.
    None,
    /// Rockchip RKNPU2 (RK3588: 6 TOPS in three cores).
    Rknpu2,
}

/// How the ML worker's CPU backend computes a model's convolutions. The weights are stored int8 on
/// the card either way; what differs is the arithmetic. Which is faster depends on the CPU's
/// integer kernels (docs/ml.md, "Arithmetic"), so each board's profile says.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum MlArithmetic {
    /// The weights unpacked to f32 at load; f32 throughout.
    #[default]
    F32,
    /// Convolutions in 8-bit integers: each convolution's input quantized as it runs (one scale
    /// per tensor), its weights per output channel; 32-bit sums scaled back to f32.
    Int8,
}

impl MlArithmetic {
    /// How board.toml and `hearthd worker ml --arithmetic` spell it.
    pub fn as_str(self) -> &'static str {
        match self {
            MlArithmetic::F32 => "f32",
            MlArithmetic::Int8 => "int8",
        }
    }
}

impl std::str::FromStr for MlArithmetic {
    type Err = String;

    fn from_str(s: &str) -> Result<MlArithmetic, String> {
        [MlArithmetic::F32, MlArithmetic::Int8]
            .into_iter()
            .find(|a| a.as_str() == s)
            .ok_or_else(|| format!("{s:?} is not an arithmetic: f32 or int8"))
    }
}

/// The resource share of one service (the daemon itself, or a worker kind).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct Budget {
    /// cgroup `memory.max`, MiB.
    pub memory_mib: u64,
    /// cgroup `cpu.weight`, 1 to 10000 (100 is the kernel's default).
    pub cpu_weight: u32,
    /// cgroup `io.weight`, 1 to 10000 (100 is the kernel's default).
    pub io_weight: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawBoard {
    board: BoardSection,
    workers: WorkersSection,
    #[serde(default)]
    ml: MlSection,
    budget: BTreeMap<String, Budget>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
struct MlSection {
    #[serde(default)]
    arithmetic: MlArithmetic,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
struct BoardSection {
    name: String,
    description: String,
    #[serde(default)]
    model_match: Vec<String>,
    ram_mib: u64,
    cores: u32,
    aes: bool,
    npu: Npu,
    watchdog: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
struct WorkersSection {
    concurrency: u32,
}

/// A validated board profile.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct BoardProfile {
    /// The profile name (`rpi4-2gb`).
    pub name: String,
    /// A human description.
    pub description: String,
    /// Substrings of `/proc/device-tree/model` that identify this board.
    pub model_match: Vec<String>,
    /// The RAM this profile is sized for, MiB.
    pub ram_mib: u64,
    /// CPU cores.
    pub cores: u32,
    /// Whether the CPU has AES instructions (ARMv8 Crypto Extensions, AES-NI).
    pub aes: bool,
    /// The NPU.
    pub npu: Npu,
    /// Whether the board has a hardware watchdog to feed.
    pub watchdog: bool,
    /// Heavy worker processes that may run at once.
    pub worker_concurrency: u32,
    /// How the ML worker computes on the CPU (`ml.arithmetic`; f32 when the section is absent).
    pub ml_arithmetic: MlArithmetic,
    /// Budgets by service name: `daemon` for hearthd itself, then one per worker kind.
    pub budgets: BTreeMap<String, Budget>,
}

/// The profiles shipped in the binary, `(name, board.toml text)`.
const BUILTIN: &[(&str, &str)] = &[
    ("dev", include_str!("../../../board/dev/board.toml")),
    ("qemu-aarch64", include_str!("../../../board/qemu-aarch64/board.toml")),
    ("rpi4-2gb", include_str!("../../../board/rpi4-2gb/board.toml")),
    ("rpi4-4gb", include_str!("../../../board/rpi4-4gb/board.toml")),
    ("rpi4-8gb", include_str!("../../../board/rpi4-8gb/board.toml")),
    ("rpi5", include_str!("../../../board/rpi5/board.toml")),
    ("rk3588", include_str!("../../../board/rk3588/board.toml")),
];

impl BoardProfile {
    /// Parse and validate a board.toml.
    pub fn from_toml(src: &str) -> Result<BoardProfile, ConfigError> {
        let raw: RawBoard = toml::from_str(src).map_err(|e| locate(src, &e))?;
        let err = |key: &str, message: String| ConfigError { line: None, key: Some(key.into()), message };
        if !crate::config::is_host_label(&raw.board.name) {
            return Err(err("board.name", "a board name is letters, digits and hyphens".into()));
        }
        if raw.board.ram_mib < 256 {
            return Err(err("board.ram_mib", format!("{} MiB is too little: Hearth needs 256 MiB or more", raw.board.ram_mib)));
        }
        if !(1..=256).contains(&raw.board.cores) {
            return Err(err("board.cores", "allowed is 1 to 256".into()));
        }
        if !(1..=64).contains(&raw.workers.concurrency) {
            return Err(err("workers.concurrency", "allowed is 1 to 64".into()));
        }
        if !raw.budget.contains_key("daemon") {
            return Err(err("budget.daemon", "every board needs a budget for the daemon itself".into()));
        }
        let mut total = 0;
        for (name, b) in &raw.budget {
            if !crate::config::is_host_label(name) {
                return Err(err(&format!("budget.{name}"), "a service name is letters, digits and hyphens".into()));
            }
            if b.memory_mib < 16 {
                return Err(err(&format!("budget.{name}.memory_mib"), "allowed is 16 MiB or more".into()));
            }
            for (what, w) in [("cpu_weight", b.cpu_weight), ("io_weight", b.io_weight)] {
                if !(1..=10000).contains(&w) {
                    return Err(err(&format!("budget.{name}.{what}"), format!("{w} is out of range: allowed is 1 to 10000")));
                }
            }
            total += b.memory_mib;
        }
        // Leave a fifth of RAM to the kernel, page cache and the init system.
        let allowed = raw.board.ram_mib * 4 / 5;
        if total > allowed {
            return Err(err(
                "budget",
                format!("the budgets add up to {total} MiB, more than the {allowed} MiB (80% of RAM) a board may give its services"),
            ));
        }
        Ok(BoardProfile {
            name: raw.board.name,
            description: raw.board.description,
            model_match: raw.board.model_match,
            ram_mib: raw.board.ram_mib,
            cores: raw.board.cores,
            aes: raw.board.aes,
            npu: raw.board.npu,
            watchdog: raw.board.watchdog,
            worker_concurrency: raw.workers.concurrency,
            ml_arithmetic: raw.ml.arithmetic,
            budgets: raw.budget,
        })
    }

    /// A profile shipped in the binary, by name.
    pub fn builtin(name: &str) -> Option<BoardProfile> {
        BUILTIN.iter().find(|(n, _)| *n == name).and_then(|(_, src)| BoardProfile::from_toml(src).ok())
    }

    /// Every shipped profile name.
    pub fn builtin_names() -> Vec<&'static str> {
        BUILTIN.iter().map(|(n, _)| *n).collect()
    }

    /// Every shipped profile.
    pub fn all_builtin() -> Vec<BoardProfile> {
        BUILTIN.iter().filter_map(|(_, src)| BoardProfile::from_toml(src).ok()).collect()
    }

    /// The budget of a service; services without their own budget share the daemon's.
    pub fn budget(&self, service: &str) -> Option<Budget> {
        self.budgets.get(service).copied()
    }

    /// Pick the profile for a device-tree model string and the RAM the kernel reports.
    ///
    /// Among the profiles whose `model_match` occurs in `model`, the one with the most RAM that
    /// does not exceed the installed RAM wins (a 4 GB Pi 4 reports a little under 4096 MiB, so
    /// the comparison allows 15% for memory reserved by firmware and the GPU).
    pub fn detect(model: Option<&str>, mem_total_mib: u64) -> BoardProfile {
        let fallback = || BoardProfile::builtin("dev").unwrap_or_else(unreachable_dev);
        let Some(model) = model else { return fallback() };
        let mut candidates: Vec<BoardProfile> =
            Self::all_builtin().into_iter().filter(|p| p.model_match.iter().any(|m| model.contains(m.as_str()))).collect();
        candidates.sort_by_key(|p| p.ram_mib);
        let fits = |p: &BoardProfile| p.ram_mib * 85 / 100 <= mem_total_mib;
        candidates.iter().rev().find(|p| fits(p)).or_else(|| candidates.first()).cloned().unwrap_or_else(fallback)
    }
}

// The dev profile is compiled in and checked by a unit test; reaching this means the build is broken.
fn unreachable_dev() -> BoardProfile {
    panic!("the built-in dev board profile does not parse; run `cargo test -p hearth-core`")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_builtin_profile_is_valid() {
        for (name, src) in BUILTIN {
            let p = BoardProfile::from_toml(src).unwrap_or_else(|e| panic!("board/{name}/board.toml: {e}"));
            assert_eq!(&p.name, name, "the folder name and board.name agree");
        }
        assert_eq!(BoardProfile::all_builtin().len(), BUILTIN.len());
    }

    #[test]
    fn detection_picks_ram_variant() {
        let model = "Raspberry Pi 4 Model B Rev 1.4";
        assert_eq!(BoardProfile::detect(Some(model), 1848).name, "rpi4-2gb");
        assert_eq!(BoardProfile::detect(Some(model), 3794).name, "rpi4-4gb");
        assert_eq!(BoardProfile::detect(Some(model), 7812).name, "rpi4-8gb");
        assert_eq!(BoardProfile::detect(Some("Raspberry Pi 5 Model B Rev 1.0"), 8000).name, "rpi5");
        assert_eq!(BoardProfile::detect(Some("Radxa ROCK 5B"), 16000).name, "rk3588");
        assert_eq!(BoardProfile::detect(Some("linux,dummy-virt"), 1000).name, "qemu-aarch64");
        assert_eq!(BoardProfile::detect(None, 24000).name, "dev");
        assert_eq!(BoardProfile::detect(Some("Some Other Board"), 24000).name, "dev");
    }

    #[test]
    fn rpi4_has_no_aes_and_rk3588_has_npu() {
        let pi = BoardProfile::builtin("rpi4-2gb").expect("builtin");
        assert!(!pi.aes);
        let rk = BoardProfile::builtin("rk3588").expect("builtin");
        assert!(rk.aes);
        assert_eq!(rk.npu, Npu::Rknpu2);
    }

    #[test]
    fn over_budget_profile_is_refused() {
        let src = "[board]\nname=\"x\"\ndescription=\"x\"\nram_mib=1024\ncores=4\naes=false\nnpu=\"none\"\nwatchdog=false\n\
                   [workers]\nconcurrency=1\n[budget.daemon]\nmemory_mib=900\ncpu_weight=100\nio_weight=100\n";
        let e = BoardProfile::from_toml(src).expect_err("900 > 819");
        assert!(e.message.contains("80%"), "{e}");
        let bad = src.replace("cpu_weight=100", "cpu_weight=0");
        assert!(BoardProfile::from_toml(&bad).is_err());
    }

    #[test]
    fn ml_arithmetic_is_f32_unless_the_board_says_int8() {
        let src = "[board]\nname=\"x\"\ndescription=\"x\"\nram_mib=1024\ncores=4\naes=false\nnpu=\"none\"\nwatchdog=false\n\
                   [workers]\nconcurrency=1\n[budget.daemon]\nmemory_mib=100\ncpu_weight=100\nio_weight=100\n";
        assert_eq!(BoardProfile::from_toml(src).expect("no [ml]").ml_arithmetic, MlArithmetic::F32);
        let int8 = format!("{src}[ml]\narithmetic = \"int8\"\n");
        assert_eq!(BoardProfile::from_toml(&int8).expect("int8").ml_arithmetic, MlArithmetic::Int8);
        let e = BoardProfile::from_toml(&format!("{src}[ml]\narithmetic = \"int4\"\n")).expect_err("int4");
        assert!(e.to_string().contains("int4"), "{e}");
        // The worker's flag spells it as board.toml does.
        for a in [MlArithmetic::F32, MlArithmetic::Int8] {
            assert_eq!(a.as_str().parse::<MlArithmetic>(), Ok(a));
        }
        assert!("int4".parse::<MlArithmetic>().is_err());
    }
}
