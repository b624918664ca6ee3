//! `hearth.toml`: parsed raw, then validated into typed settings.
//!
//! Every key is optional; [`Config::default`] is what `hearthd --data DIR` runs with. Values are
//! validated while parsing (through the newtypes below), so a bad value is reported with the line it
//! is on, the key it belongs to and what is allowed. An unknown key is an error, never ignored: a
//! typo must not silently turn a setting off. Every key is documented in docs/hearth.example.toml.

use std::fmt;
use std::net::SocketAddr;
use std::time::Duration;

use serde::Deserialize;

/// A configuration error with its position in the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// 1-based line of the offending text, when known.
    pub line: Option<usize>,
    /// The dotted key (`http.listen`), when known.
    pub key: Option<String>,
    /// What is wrong and what is allowed.
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.key, self.line) {
            (Some(key), Some(line)) => write!(f, "line {line}, key `{key}`: {}", self.message),
            (None, Some(line)) => write!(f, "line {line}: {}", self.message),
            (Some(key), None) => write!(f, "key `{key}`: {}", self.message),
            (None, None) => f.write_str(&self.message),
        }
    }
}

impl std::error::Error for ConfigError {}

impl crate::Kinded for ConfigError {
    fn kind(&self) -> crate::ErrorKind {
        crate::ErrorKind::InvalidInput
    }
    fn guidance(&self) -> Option<String> {
        Some("fix the configuration file (docs/hearth.example.toml lists every key) or remove the key to use the default".into())
    }
}

/// The validated settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// Device settings.
    pub device: DeviceConfig,
    /// HTTP/HTTPS listeners and request limits.
    pub http: HttpConfig,
    /// mDNS announcements.
    pub mdns: MdnsConfig,
    /// Folder sync with Syncthing devices.
    pub sync: SyncConfig,
    /// Logins and sessions.
    pub accounts: AccountsConfig,
    /// The supervisor.
    pub supervisor: SupervisorConfig,
    /// Backups the box keeps for other machines.
    pub backup: BackupConfig,
    /// Where the appliance's clock comes from.
    pub clock: ClockConfig,
    /// Updates of the system (docs/updates.md).
    pub update: UpdateConfig,
    /// Photo ML (docs/ml.md).
    pub ml: MlConfig,
    /// The family's files (docs/files.md).
    pub files: FilesConfig,
    /// Log verbosity.
    pub log: LogConfig,
}

/// `[ml]`
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MlConfig {
    /// The folder of the prepared model files; `None`: the image's `/usr/share/hearth/models`, or
    /// `target/models` beside a development build.
    pub models_dir: Option<std::path::PathBuf>,
    /// Rockchip's NPU runtime, used on boards whose profile has an NPU; `None`: where the
    /// runtime usually is (`/usr/lib/librknnrt.so`).
    pub npu_library: Option<std::path::PathBuf>,
    /// An image/text embedding model the family provides for free-text search (`[ml.embedding]`);
    /// `None`: no free-text search (no such model ships).
    pub embedding: Option<EmbeddingConfig>,
}

/// `[ml.embedding]`: a CLIP-like model's files (docs/ml.md, "Free-text search").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmbeddingConfig {
    /// The image half (ONNX).
    pub image_model: std::path::PathBuf,
    /// The text half (ONNX).
    pub text_model: std::path::PathBuf,
    /// CLIP's BPE merges file.
    pub merges: std::path::PathBuf,
    /// The side of the square picture the image half takes.
    pub image_side: u32,
    /// How many token ids the text half takes.
    pub text_tokens: usize,
}

/// `[clock]`
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClockConfig {
    /// NTP servers asked after the ones the DHCP lease names (host names or addresses).
    pub ntp_servers: Vec<String>,
}

/// `[update]`
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpdateConfig {
    /// The update channel's index (`http(s)://…/index.json`) the box looks at unless the family
    /// set another on the Updates page; `None`: no channel.
    pub channel: Option<String>,
    /// How often the channel is looked at.
    pub check_every: Duration,
    /// How long every service must be healthy before a system on trial commits itself.
    pub health_grace: Duration,
    /// How long a system on trial may take to pass its health gate before the box restarts
    /// (the bootloader counts the try).
    pub trial_limit: Duration,
}

/// `[files]`
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FilesConfig {
    /// Folders of each user's files that feed their photo library, relative to the files'
    /// root (`Photos`, the Nextcloud apps' `InstantUpload`, …): names joined by `/`.
    pub photo_folders: Vec<String>,
}

/// `[backup]`
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackupConfig {
    /// The most bytes each user's hosted repositories (`/restic/<user>/…`) may hold together;
    /// `None`: as much as the disk has.
    pub hosted_quota_bytes: Option<u64>,
}

/// `[device]`
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceConfig {
    /// Shown in the web page and mDNS TXT (`device`).
    pub name: String,
    /// A board profile name, or `None` to detect the board.
    pub board: Option<String>,
}

/// `[http]`
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpConfig {
    /// Plain HTTP address.
    pub listen: SocketAddr,
    /// HTTPS address, or `None` when switched off.
    pub https_listen: Option<SocketAddr>,
    /// The largest request body accepted by JSON API routes.
    pub max_body_bytes: usize,
    /// Connections served at once; more wait for a free slot.
    pub max_connections: usize,
}

/// `[mdns]`
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MdnsConfig {
    /// Whether Hearth announces itself on the LAN.
    pub enabled: bool,
    /// The host label; `hearth` gives `hearth.local`.
    pub hostname: String,
}

/// `[sync]`
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncConfig {
    /// Where Syncthing devices connect (TCP, BEP over TLS), or `None` when switched off.
    pub listen: Option<SocketAddr>,
    /// Announce the box on the LAN and listen for paired devices' announcements (UDP 21027).
    pub local_discovery: bool,
}

/// `[accounts]`
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountsConfig {
    /// How long a login session lasts without use.
    pub session_idle: Duration,
    /// Failed logins for one user before backoff starts.
    pub free_failures_per_user: u32,
    /// Failed logins from one address before backoff starts.
    pub free_failures_per_address: u32,
    /// The longest a throttled login has to wait.
    pub max_backoff: Duration,
}

/// `[supervisor]`
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SupervisorConfig {
    /// The longest a graceful shutdown may take before services are abandoned.
    pub shutdown_timeout: Duration,
    /// Feed `/dev/watchdog` when it exists.
    pub watchdog: bool,
}

/// `[log]`
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogConfig {
    /// A tracing filter directive (`info`, `hearth_api=debug,info`).
    pub level: String,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            device: DeviceConfig { name: "Hearth".into(), board: None },
            http: HttpConfig {
                listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
                https_listen: Some(SocketAddr::from(([127, 0, 0, 1], 8443))),
                max_body_bytes: 1 << 20,
                max_connections: 256,
            },
            mdns: MdnsConfig { enabled: true, hostname: "hearth".into() },
            sync: SyncConfig { listen: Some(SocketAddr::from(([0, 0, 0, 0], 22000))), local_discovery: true },
            accounts: AccountsConfig {
                session_idle: Duration::from_secs(30 * 24 * 3600),
                free_failures_per_user: 5,
                free_failures_per_address: 20,
                max_backoff: Duration::from_secs(15 * 60),
            },
            supervisor: SupervisorConfig { shutdown_timeout: Duration::from_secs(10), watchdog: true },
            backup: BackupConfig { hosted_quota_bytes: None },
            clock: ClockConfig { ntp_servers: Vec::new() },
            update: UpdateConfig {
                channel: None,
                check_every: Duration::from_secs(24 * 3600),
                health_grace: Duration::from_secs(120),
                trial_limit: Duration::from_secs(600),
            },
            ml: MlConfig { models_dir: None, npu_library: None, embedding: None },
            files: FilesConfig { photo_folders: vec!["Photos".into(), "InstantUpload".into(), "Camera Uploads".into()] },
            log: LogConfig { level: "info".into() },
        }
    }
}

// ---- raw form ------------------------------------------------------------------------------

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    #[serde(default)]
    device: RawDevice,
    #[serde(default)]
    http: RawHttp,
    #[serde(default)]
    mdns: RawMdns,
    #[serde(default)]
    sync: RawSync,
    #[serde(default)]
    accounts: RawAccounts,
    #[serde(default)]
    supervisor: RawSupervisor,
    #[serde(default)]
    backup: RawBackup,
    #[serde(default)]
    clock: RawClock,
    #[serde(default)]
    update: RawUpdate,
    #[serde(default)]
    ml: RawMl,
    #[serde(default)]
    files: RawFiles,
    #[serde(default)]
    log: RawLog,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawMl {
    models_dir: Option<BuiltInOrAbsolute>,
    npu_library: Option<BuiltInOrAbsolute>,
    embedding: Option<RawEmbedding>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEmbedding {
    image_model: ProvidedFile,
    text_model: ProvidedFile,
    merges: ProvidedFile,
    image_side: Option<Bounded<16, 1024>>,
    text_tokens: Option<Bounded<2, 1024>>,
}

/// A file the family provides: an absolute path.
struct ProvidedFile(String);

impl<'de> Deserialize<'de> for ProvidedFile {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        if s.starts_with('/') {
            Ok(ProvidedFile(s))
        } else {
            Err(serde::de::Error::custom(format!("{s:?} is not an absolute path to a file")))
        }
    }
}

/// A file or folder Hearth has a built-in place for: an absolute path, or "" for that place.
struct BuiltInOrAbsolute(String);

impl<'de> Deserialize<'de> for BuiltInOrAbsolute {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        if s.is_empty() || s.starts_with('/') {
            Ok(BuiltInOrAbsolute(s))
        } else {
            Err(serde::de::Error::custom(format!("{s:?} is not an absolute path (or \"\" for the built-in place)")))
        }
    }
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawUpdate {
    channel: Option<ChannelUrl>,
    check_every_hours: Option<Bounded<1, 720>>,
    health_grace_secs: Option<Bounded<5, 3600>>,
    trial_limit_secs: Option<Bounded<30, 7200>>,
}

/// An update channel's address: http(s), or "" for none.
struct ChannelUrl(String);

impl<'de> Deserialize<'de> for ChannelUrl {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        let ok = s.is_empty()
            || ((s.starts_with("http://") || s.starts_with("https://"))
                && s.len() <= 2048
                && !s.chars().any(|c| c.is_whitespace() || c.is_control()));
        if ok {
            Ok(ChannelUrl(s))
        } else {
            Err(serde::de::Error::custom("an update channel is an http:// or https:// address, or \"\" for none"))
        }
    }
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawDevice {
    name: Option<DeviceName>,
    board: Option<BoardName>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawHttp {
    listen: Option<Address>,
    https_listen: Option<OptionalAddress>,
    max_body_bytes: Option<Bounded<1024, { 64 << 20 }>>,
    max_connections: Option<Bounded<1, 65536>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawMdns {
    enabled: Option<bool>,
    hostname: Option<HostLabel>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawSync {
    listen: Option<OptionalAddress>,
    local_discovery: Option<bool>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawAccounts {
    session_idle_days: Option<Bounded<1, 365>>,
    free_failures_per_user: Option<Bounded<1, 100>>,
    free_failures_per_address: Option<Bounded<1, 1000>>,
    max_backoff_secs: Option<Bounded<1, 86400>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawClock {
    ntp_servers: Option<Vec<NtpServer>>,
}

/// A host name or address to ask for the time.
struct NtpServer(String);

impl<'de> Deserialize<'de> for NtpServer {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        let ok = !s.is_empty() && s.len() <= 255 && s.chars().all(|c| c.is_ascii_alphanumeric() || ".-:[]".contains(c));
        if ok { Ok(NtpServer(s)) } else { Err(serde::de::Error::custom("an NTP server is a host name or an IP address")) }
    }
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawFiles {
    photo_folders: Option<Vec<FilesFolder>>,
}

/// A folder inside a user's files: names joined by `/` (a leading `/` is dropped), none empty,
/// `.` or `..`.
struct FilesFolder(String);

impl<'de> Deserialize<'de> for FilesFolder {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        let trimmed = s.trim_start_matches('/').trim_end_matches('/');
        let ok = !trimmed.is_empty()
            && trimmed.len() <= 255
            && trimmed.split('/').all(|n| !n.is_empty() && n != "." && n != ".." && !n.chars().any(char::is_control));
        if ok {
            Ok(FilesFolder(trimmed.to_string()))
        } else {
            Err(serde::de::Error::custom(format!("{s:?} is not a folder inside a user's files (like \"Photos\" or \"Phone/Camera\")")))
        }
    }
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawBackup {
    hosted_quota_mib: Option<Bounded<0, 1_000_000_000>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawSupervisor {
    shutdown_timeout_secs: Option<Bounded<1, 300>>,
    watchdog: Option<bool>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawLog {
    level: Option<LogLevel>,
}

/// An integer in `MIN..=MAX`, rejected while parsing so the error carries its line.
#[derive(Clone, Copy)]
struct Bounded<const MIN: i64, const MAX: i64>(i64);

impl<'de, const MIN: i64, const MAX: i64> Deserialize<'de> for Bounded<MIN, MAX> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = i64::deserialize(d)?;
        if (MIN..=MAX).contains(&v) {
            Ok(Bounded(v))
        } else {
            Err(serde::de::Error::custom(format!("{v} is out of range: allowed is {MIN} to {MAX}")))
        }
    }
}

impl<const MIN: i64, const MAX: i64> Bounded<MIN, MAX> {
    // MIN >= 0 for every use, so the conversions cannot wrap.
    fn as_u64(self) -> u64 {
        self.0.max(0) as u64
    }
}

struct Address(SocketAddr);

impl<'de> Deserialize<'de> for Address {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map(Address).map_err(|_| {
            serde::de::Error::custom(format!("{s:?} is not an address: allowed is IP:PORT, such as \"0.0.0.0:80\" or \"[::]:8080\""))
        })
    }
}

struct OptionalAddress(Option<SocketAddr>);

impl<'de> Deserialize<'de> for OptionalAddress {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        if s == "off" {
            return Ok(OptionalAddress(None));
        }
        s.parse().map(|a| OptionalAddress(Some(a))).map_err(|_| {
            serde::de::Error::custom(format!("{s:?} is not an address: allowed is IP:PORT, such as \"0.0.0.0:443\", or \"off\""))
        })
    }
}

struct DeviceName(String);

impl<'de> Deserialize<'de> for DeviceName {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        let ok = !s.trim().is_empty() && s.len() <= 63 && !s.chars().any(char::is_control);
        if ok {
            Ok(DeviceName(s.trim().to_string()))
        } else {
            Err(serde::de::Error::custom("a device name must be 1 to 63 bytes of printable text".to_string()))
        }
    }
}

struct HostLabel(String);

/// Whether `s` is a valid DNS label for an mDNS host name (letters, digits, inner hyphens).
pub fn is_host_label(s: &str) -> bool {
    !s.is_empty() && s.len() <= 63 && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') && !s.starts_with('-') && !s.ends_with('-')
}

impl<'de> Deserialize<'de> for HostLabel {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        if is_host_label(&s) {
            Ok(HostLabel(s.to_ascii_lowercase()))
        } else {
            Err(serde::de::Error::custom(format!(
                "{s:?} is not a host name: allowed are 1 to 63 letters, digits and inner hyphens, without \".local\""
            )))
        }
    }
}

struct BoardName(String);

impl<'de> Deserialize<'de> for BoardName {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        if s == "auto" || crate::board::BoardProfile::builtin(&s).is_some() {
            Ok(BoardName(s))
        } else {
            Err(serde::de::Error::custom(format!(
                "unknown board {s:?}: allowed are \"auto\", {}",
                crate::board::BoardProfile::builtin_names().iter().map(|n| format!("{n:?}")).collect::<Vec<_>>().join(", ")
            )))
        }
    }
}

struct LogLevel(String);

impl<'de> Deserialize<'de> for LogLevel {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        let valid_level = |l: &str| matches!(l, "error" | "warn" | "info" | "debug" | "trace" | "off");
        // Accept "LEVEL" or "target=LEVEL" directives separated by commas.
        let ok = !s.is_empty()
            && s.split(',').all(|part| match part.split_once('=') {
                Some((target, level)) => {
                    !target.is_empty() && target.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b':') && valid_level(level)
                }
                None => valid_level(part),
            });
        if ok {
            Ok(LogLevel(s))
        } else {
            Err(serde::de::Error::custom(format!(
                "{s:?} is not a log level: allowed are error, warn, info, debug, trace, off, or \"crate=level\" items separated by commas"
            )))
        }
    }
}

impl Config {
    /// Parse and validate `src`, the text of a `hearth.toml`.
    pub fn from_toml(src: &str) -> Result<Config, ConfigError> {
        let raw: RawConfig = toml::from_str(src).map_err(|e| locate(src, &e))?;
        let d = Config::default();
        Ok(Config {
            device: DeviceConfig {
                name: raw.device.name.map(|n| n.0).unwrap_or(d.device.name),
                board: raw.device.board.map(|b| b.0).filter(|b| b != "auto"),
            },
            http: HttpConfig {
                listen: raw.http.listen.map(|a| a.0).unwrap_or(d.http.listen),
                https_listen: raw.http.https_listen.map(|a| a.0).unwrap_or(d.http.https_listen),
                max_body_bytes: raw.http.max_body_bytes.map(|b| b.as_u64() as usize).unwrap_or(d.http.max_body_bytes),
                max_connections: raw.http.max_connections.map(|b| b.as_u64() as usize).unwrap_or(d.http.max_connections),
            },
            mdns: MdnsConfig {
                enabled: raw.mdns.enabled.unwrap_or(d.mdns.enabled),
                hostname: raw.mdns.hostname.map(|h| h.0).unwrap_or(d.mdns.hostname),
            },
            sync: SyncConfig {
                listen: raw.sync.listen.map(|a| a.0).unwrap_or(d.sync.listen),
                local_discovery: raw.sync.local_discovery.unwrap_or(d.sync.local_discovery),
            },
            accounts: AccountsConfig {
                session_idle: raw
                    .accounts
                    .session_idle_days
                    .map(|b| Duration::from_secs(b.as_u64() * 86400))
                    .unwrap_or(d.accounts.session_idle),
                free_failures_per_user: raw
                    .accounts
                    .free_failures_per_user
                    .map(|b| b.as_u64() as u32)
                    .unwrap_or(d.accounts.free_failures_per_user),
                free_failures_per_address: raw
                    .accounts
                    .free_failures_per_address
                    .map(|b| b.as_u64() as u32)
                    .unwrap_or(d.accounts.free_failures_per_address),
                max_backoff: raw.accounts.max_backoff_secs.map(|b| Duration::from_secs(b.as_u64())).unwrap_or(d.accounts.max_backoff),
            },
            supervisor: SupervisorConfig {
                shutdown_timeout: raw
                    .supervisor
                    .shutdown_timeout_secs
                    .map(|b| Duration::from_secs(b.as_u64()))
                    .unwrap_or(d.supervisor.shutdown_timeout),
                watchdog: raw.supervisor.watchdog.unwrap_or(d.supervisor.watchdog),
            },
            backup: BackupConfig {
                hosted_quota_bytes: match raw.backup.hosted_quota_mib.map(|m| m.as_u64()) {
                    Some(0) => None,
                    Some(m) => Some(m << 20),
                    None => d.backup.hosted_quota_bytes,
                },
            },
            clock: ClockConfig {
                ntp_servers: raw.clock.ntp_servers.map(|v| v.into_iter().map(|s| s.0).collect()).unwrap_or(d.clock.ntp_servers),
            },
            update: UpdateConfig {
                channel: match raw.update.channel {
                    Some(c) if c.0.is_empty() => None,
                    Some(c) => Some(c.0),
                    None => d.update.channel,
                },
                check_every: raw.update.check_every_hours.map(|h| Duration::from_secs(h.as_u64() * 3600)).unwrap_or(d.update.check_every),
                health_grace: raw.update.health_grace_secs.map(|s| Duration::from_secs(s.as_u64())).unwrap_or(d.update.health_grace),
                trial_limit: raw.update.trial_limit_secs.map(|s| Duration::from_secs(s.as_u64())).unwrap_or(d.update.trial_limit),
            },
            ml: MlConfig {
                models_dir: match raw.ml.models_dir {
                    Some(dir) if dir.0.is_empty() => None,
                    Some(dir) => Some(dir.0.into()),
                    None => d.ml.models_dir,
                },
                npu_library: match raw.ml.npu_library {
                    Some(path) if path.0.is_empty() => None,
                    Some(path) => Some(path.0.into()),
                    None => d.ml.npu_library,
                },
                embedding: raw.ml.embedding.map(|e| EmbeddingConfig {
                    image_model: e.image_model.0.into(),
                    text_model: e.text_model.0.into(),
                    merges: e.merges.0.into(),
                    image_side: e.image_side.map_or(224, |v| v.as_u64() as u32),
                    text_tokens: e.text_tokens.map_or(77, |v| v.as_u64() as usize),
                }),
            },
            files: FilesConfig {
                photo_folders: raw.files.photo_folders.map(|v| v.into_iter().map(|f| f.0).collect()).unwrap_or(d.files.photo_folders),
            },
            log: LogConfig { level: raw.log.level.map(|l| l.0).unwrap_or(d.log.level) },
        })
    }
}

/// Turn a toml error into a [`ConfigError`] with line and dotted key.
pub fn locate(src: &str, err: &toml::de::Error) -> ConfigError {
    let message = err.message().trim().to_string();
    let Some(span) = err.span() else {
        return ConfigError { line: None, key: None, message };
    };
    let start = span.start.min(src.len());
    let line = src[..start].bytes().filter(|&b| b == b'\n').count() + 1;
    let line_text = src.lines().nth(line - 1).unwrap_or("");
    // The table the line is in: the last `[header]` above it.
    let table = src
        .lines()
        .take(line - 1)
        .filter_map(|l| {
            let t = l.trim();
            (t.starts_with('[') && t.ends_with(']')).then(|| t.trim_matches(|c| c == '[' || c == ']').trim().to_string())
        })
        .last();
    let key = line_text.split_once('=').map(|(k, _)| k.trim().trim_matches('"').to_string()).filter(|k| !k.is_empty());
    let key = match (table, key) {
        (Some(t), Some(k)) => Some(format!("{t}.{k}")),
        (None, Some(k)) => Some(k),
        (Some(t), None) => Some(t),
        (None, None) => None,
    };
    ConfigError { line: Some(line), key, message }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_file_is_the_defaults() {
        assert_eq!(Config::from_toml(""), Ok(Config::default()));
    }

    #[test]
    fn an_embedding_model_needs_all_three_files() {
        let c = Config::from_toml("[ml.embedding]\nimage_model = \"/m/i.onnx\"\ntext_model = \"/m/t.onnx\"\nmerges = \"/m/merges.txt\"\n")
            .expect("valid");
        let e = c.ml.embedding.expect("embedding");
        assert_eq!((e.image_side, e.text_tokens), (224, 77), "CLIP's sizes by default");
        assert_eq!(e.merges, std::path::PathBuf::from("/m/merges.txt"));
        let err =
            Config::from_toml("[ml.embedding]\nimage_model = \"/m/i.onnx\"\ntext_model = \"/m/t.onnx\"\n").expect_err("merges missing");
        assert!(err.to_string().contains("merges"), "{err}");
        let err =
            Config::from_toml("[ml.embedding]\nimage_model = \"i.onnx\"\ntext_model = \"/t\"\nmerges = \"/m\"\n").expect_err("relative");
        assert!(err.to_string().contains("absolute"), "{err}");
        assert_eq!(Config::from_toml("").expect("defaults").ml.embedding, None);
    }

    #[test]
    fn values_override_defaults() {
        let c = Config::from_toml(
            "[http]\nlisten = \"0.0.0.0:80\"\nhttps_listen = \"off\"\n[mdns]\nhostname = \"Attic\"\n[accounts]\nsession_idle_days = 7\n",
        )
        .expect("valid");
        assert_eq!(c.http.listen, SocketAddr::from(([0, 0, 0, 0], 80)));
        assert_eq!(c.http.https_listen, None);
        assert_eq!(c.mdns.hostname, "attic");
        assert_eq!(c.accounts.session_idle, Duration::from_secs(7 * 86400));
    }

    #[test]
    fn unknown_key_names_key_line_and_allowed() {
        let e = Config::from_toml("[http]\n\nlisen = \"0.0.0.0:80\"\n").expect_err("typo");
        assert_eq!(e.line, Some(3));
        assert_eq!(e.key.as_deref(), Some("http.lisen"));
        assert!(e.message.contains("`listen`"), "{e}");
    }

    #[test]
    fn bad_value_names_key_line_and_allowed() {
        let e = Config::from_toml("# comment\n[http]\nlisten = \"my box\"\n").expect_err("bad");
        assert_eq!(e.line, Some(3));
        assert_eq!(e.key.as_deref(), Some("http.listen"));
        assert!(e.message.contains("IP:PORT"), "{e}");

        let c = Config::from_toml("[clock]\nntp_servers = [\"ntp.home.lan\", \"192.168.1.1\"]\n").expect("clock");
        assert_eq!(c.clock.ntp_servers, vec!["ntp.home.lan".to_string(), "192.168.1.1".to_string()]);
        let e = Config::from_toml("[clock]\nntp_servers = [\"ntp lan; rm\"]\n").expect_err("bad server");
        assert_eq!(e.key.as_deref(), Some("clock.ntp_servers"), "{e:?}");
        let c = Config::from_toml("[files]\nphoto_folders = [\"/Phone/Camera/\", \"Photos\"]\n").expect("files");
        assert_eq!(c.files.photo_folders, vec!["Phone/Camera".to_string(), "Photos".to_string()]);
        for bad in ["../etc", "a//b", "/", "a/./b"] {
            let e = Config::from_toml(&format!("[files]\nphoto_folders = [{bad:?}]\n")).expect_err("bad folder");
            assert_eq!(e.key.as_deref(), Some("files.photo_folders"), "{bad}: {e:?}");
        }
        let e = Config::from_toml("[accounts]\nsession_idle_days = 0\n").expect_err("range");
        assert_eq!(e.key.as_deref(), Some("accounts.session_idle_days"));
        assert!(e.message.contains("1 to 365"), "{e}");

        let e = Config::from_toml("[device]\nboard = \"toaster\"\n").expect_err("board");
        assert!(e.message.contains("rpi4-2gb"), "{e}");

        let e = Config::from_toml("[log]\nlevel = \"loud\"\n").expect_err("level");
        assert_eq!(e.line, Some(2));
    }

    #[test]
    fn wrong_type_and_syntax_are_located() {
        let e = Config::from_toml("[mdns]\nenabled = \"yes\"\n").expect_err("type");
        assert_eq!(e.line, Some(2));
        let e = Config::from_toml("[mdns\n").expect_err("syntax");
        assert_eq!(e.line, Some(1));
    }

    #[test]
    fn example_config_is_valid() {
        let src = include_str!("../../../docs/hearth.example.toml");
        Config::from_toml(src).expect("docs/hearth.example.toml must parse");
    }
}
