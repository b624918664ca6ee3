//! Start-up: settings, data folder, catalog, certificate, listeners, then the supervisor.
//! Every failure before the supervisor starts is a clear message and exit status 2.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context, anyhow};
use hearth_api::server::{ApiService, Listeners};
use hearth_api::state::DeviceInfo;
use hearth_api::trouble::Problem;
use hearth_api::{AppState, auth, setup_code::SetupCode, tls};
use hearth_catalog::{Catalog, settings, update_snapshots, users};
use hearth_core::announce::Announcements;
use hearth_core::board::BoardProfile;
use hearth_core::config::Config;
use hearth_core::service::StatusBoard;
use hearth_core::{Kinded, shutdown};
use hearth_discovery::MdnsService;
use hearth_ota::layout::Layout;
use hearth_ota::updates::{Control, Updates};
use hearth_platform::identity::{self, Capability};
use hearth_platform::power::{BusyboxInit, Power};
use hearth_platform::privileged_helper::Helper;
use hearth_supervisor::{Limits, RestartPolicy, Supervisor, WorkerSpec};

/// Flags of `hearthd` (run mode).
#[derive(clap::Args, Debug)]
pub struct RunArgs {
    /// The data folder (created when missing). On the board: /data.
    #[arg(long, env = "HEARTH_DATA", default_value = "./hearth-data")]
    pub data: PathBuf,
    /// A hearth.toml (docs/hearth.example.toml lists every key).
    #[arg(long, env = "HEARTH_CONFIG")]
    pub config: Option<PathBuf>,
    /// Plain HTTP address (overrides http.listen).
    #[arg(long)]
    pub listen: Option<SocketAddr>,
    /// HTTPS address or "off" (overrides http.https_listen).
    #[arg(long)]
    pub https_listen: Option<String>,
    /// Sync (BEP) address, "tcp://IP:PORT", "IP:PORT" or "off" (overrides sync.listen).
    #[arg(long)]
    pub sync_listen: Option<String>,
    /// Board profile name (overrides device.board; detected when neither is given).
    #[arg(long)]
    pub board: Option<String>,
    /// Do not announce on mDNS (overrides mdns.enabled).
    #[arg(long)]
    pub no_mdns: bool,
    /// No Syncthing local discovery: neither announce nor listen on UDP 21027 (overrides
    /// sync.local_discovery).
    #[arg(long)]
    pub no_local_discovery: bool,
    /// The device name (overrides device.name).
    #[arg(long)]
    pub name: Option<String>,
    /// Run as the appliance's daemon (the image's init starts it so): the web page may power off
    /// and reboot the box, and a start that fails serves the trouble page instead of exiting.
    #[arg(long)]
    pub appliance: bool,
    /// The status file of `hearthd prepare-data`: when it reports trouble, only the trouble page
    /// is served (with --appliance).
    #[arg(long, requires = "appliance")]
    pub data_status: Option<PathBuf>,
    /// Run as this user (with --appliance; the image passes `hearth`): hearthd starts the
    /// privileged helper, joins the cgroup group delegated to the user, then drops root, keeping
    /// only CAP_NET_BIND_SERVICE and CAP_SYS_TIME (docs/image.md, "Users and privileges").
    #[arg(long, requires = "appliance")]
    pub user: Option<String>,
    /// A folder standing in for a box's root slots and boot state (`slot-a.img`, `slot-b.img`,
    /// `boot/`, `keys/`, `release`; docs/updates.md): updates are installed into it by this
    /// process. For trying updates on a computer, and for tests.
    #[arg(long, conflicts_with = "appliance")]
    pub update_layout: Option<PathBuf>,
}

/// Read and validate the configuration file, or the defaults without one.
pub fn load_config(file: Option<&Path>) -> anyhow::Result<Config> {
    let Some(file) = file else { return Ok(Config::default()) };
    let text = std::fs::read_to_string(file).with_context(|| format!("cannot read the configuration file {}", file.display()))?;
    Config::from_toml(&text).map_err(|e| anyhow!("{}: {e}", file.display()))
}

fn apply_flags(mut config: Config, args: &RunArgs) -> anyhow::Result<Config> {
    if let Some(l) = args.listen {
        config.http.listen = l;
    }
    if let Some(h) = &args.https_listen {
        config.http.https_listen =
            if h == "off" { None } else { Some(h.parse().map_err(|_| anyhow!("--https-listen {h:?}: allowed is IP:PORT or \"off\""))?) };
    }
    if let Some(s) = &args.sync_listen {
        let addr = s.strip_prefix("tcp://").unwrap_or(s);
        config.sync.listen = if addr == "off" {
            None
        } else {
            Some(addr.parse().map_err(|_| anyhow!("--sync-listen {s:?}: allowed is tcp://IP:PORT, IP:PORT or \"off\""))?)
        };
    }
    if args.no_local_discovery {
        config.sync.local_discovery = false;
    }
    if let Some(b) = &args.board {
        if BoardProfile::builtin(b).is_none() {
            return Err(anyhow!("--board {b:?}: allowed are {}", BoardProfile::builtin_names().join(", ")));
        }
        config.device.board = Some(b.clone());
    }
    if args.no_mdns {
        config.mdns.enabled = false;
    }
    if let Some(n) = &args.name {
        config.device.name = n.clone();
    }
    Ok(config)
}

fn init_logging(level: &str) {
    let filter = std::env::var("HEARTH_LOG").ok().unwrap_or_else(|| level.to_string());
    let filter = tracing_subscriber::EnvFilter::try_new(&filter).unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let _ = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).with_ansi(ansi).with_target(false).try_init();
}

/// `hearthd` run mode.
pub fn main(args: RunArgs) -> ExitCode {
    let started = Instant::now();
    let config = match load_config(args.config.as_deref()).and_then(|c| apply_flags(c, &args)) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("hearthd: {e:#}");
            return ExitCode::from(2);
        }
    };
    // Before any thread exists: capabilities are per thread.
    let board_name = board_profile(&config).map(|b| b.name).unwrap_or_default();
    let helper: Option<Arc<Helper>> = match &args.user {
        Some(name) => match drop_root(name, &args.data, &board_name) {
            Ok(helper) => Some(Arc::new(helper)),
            Err(e) => {
                eprintln!("hearthd: cannot run as the user {name}: {e:#}");
                return ExitCode::from(2);
            }
        },
        None => None,
    };
    let power: Option<Arc<dyn Power>> = match &helper {
        Some(h) => Some(h.clone() as Arc<dyn Power>),
        None => args.appliance.then(|| Arc::new(BusyboxInit) as Arc<dyn Power>),
    };
    init_logging(&config.log.level);
    let runtime = match tokio::runtime::Builder::new_multi_thread().worker_threads(2).max_blocking_threads(16).enable_all().build() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("hearthd: cannot start the async runtime: {e}");
            return ExitCode::from(2);
        }
    };
    if let Some(path) = &args.data_status {
        let trouble = match crate::prepare_data::read_status(path) {
            Ok(status) => status.problem,
            Err(e) => Some(Problem {
                kind: "missing".into(),
                problem: format!("the data partition was not prepared at boot ({e})"),
                what_to_do: RESTART.into(),
            }),
        };
        if let Some(problem) = trouble {
            return runtime.block_on(serve_trouble(&config, problem));
        }
    }
    let appliance = args.appliance;
    match runtime.block_on(serve(args, config.clone(), started, power, helper)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("{e:#}");
            eprintln!("hearthd: {e:#}");
            if appliance {
                let text = format!("{e:#}");
                let (problem, what_to_do) = match text.split_once("\n  what to do: ") {
                    Some((p, w)) => (p.to_string(), w.to_string()),
                    None => (text, RESTART.to_string()),
                };
                return runtime.block_on(serve_trouble(&config, Problem { kind: "start".into(), problem, what_to_do }));
            }
            ExitCode::from(2)
        }
    }
}

/// Become `user`: the privileged helper started first (it keeps root), hearthd moved into the
/// cgroup group rcS delegated to the user, then root dropped.
fn drop_root(user: &str, data: &Path, board: &str) -> anyhow::Result<Helper> {
    let passwd = std::fs::read_to_string("/etc/passwd").context("cannot read /etc/passwd")?;
    let account = identity::lookup(&passwd, user).ok_or_else(|| anyhow!("/etc/passwd has no user {user:?} (or it is root)"))?;
    let exe = std::env::current_exe().context("cannot find hearthd's own program")?;
    let data = data.to_string_lossy();
    let helper =
        Helper::spawn(&exe, &["privileged-helper", "--data", &data, "--board", board]).context("cannot start the privileged helper")?;
    let group = Path::new(hearth_platform::cgroup::APPLIANCE_GROUP);
    if group.is_dir() {
        hearth_platform::cgroup::move_self_into(group).with_context(|| format!("cannot join {}", group.display()))?;
    }
    identity::become_user(account, &[Capability::NetBindService, Capability::SysTime]).context("cannot drop root")?;
    Ok(helper)
}

const RESTART: &str = "Restart the box (unplug it for ten seconds). If this page comes back, your data is still on the card: ask for help before changing anything.";

/// Serve the trouble page until a signal; the box stays reachable and says what is wrong.
async fn serve_trouble(config: &Config, problem: Problem) -> ExitCode {
    tracing::error!(kind = %problem.kind, "{}; serving the trouble page", problem.problem);
    eprintln!("\n    Hearth needs attention: {}\n    What to do: {}\n", problem.problem, problem.what_to_do);
    let listener = match std::net::TcpListener::bind(config.http.listen) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("hearthd: cannot listen on {} for the trouble page: {e}", config.http.listen);
            return ExitCode::from(2);
        }
    };
    // An unknown board name is itself a start-up problem: the page still names what was asked.
    let board = board_profile(config).map(|b| b.name).unwrap_or_else(|_| config.device.board.clone().unwrap_or_default());
    let (trigger, shutdown) = shutdown::channel();
    tokio::spawn(async move {
        wait_for_signal().await;
        trigger.fire();
    });
    match hearth_api::trouble::run(listener, problem, hearth_core::version::VERSION.to_string(), board, shutdown).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("hearthd: the trouble page stopped: {e}");
            ExitCode::from(2)
        }
    }
}

/// The board profile: the configured one, else the one the device tree names.
fn board_profile(config: &Config) -> anyhow::Result<BoardProfile> {
    match &config.device.board {
        Some(name) => BoardProfile::builtin(name).ok_or_else(|| anyhow!("unknown board {name}")),
        None => Ok(hearth_platform::board::detect(Path::new("/"))),
    }
}

/// A start-up error with the guidance of a kinded error.
fn explain<E: Kinded>(e: E) -> anyhow::Error {
    match e.guidance() {
        Some(g) => anyhow!("{e}\n  what to do: {g}"),
        None => anyhow!("{e}"),
    }
}

/// The box's updates: through the privileged helper on the appliance, in this process for a
/// folder standing in for a box (`--update-layout`), without slots otherwise.
fn updates(args: &RunArgs, config: &Config, board: &BoardProfile, data: &Path, helper: Option<Arc<Helper>>) -> Updates {
    let dir = crate::privileged_helper::update_dir(data);
    let channel = config.update.channel.clone();
    if let Some(folder) = &args.update_layout {
        let layout = match Layout::folder(folder) {
            Ok(l) => Some(l),
            Err(e) => {
                tracing::warn!(folder = %folder.display(), error = %e, "the update layout cannot be used");
                None
            }
        };
        return Updates::new(layout, Control::InProcess(Default::default()), dir.clone(), dir.join("record.json"), channel);
    }
    let layout = if args.appliance {
        match Layout::of_this_appliance(&board.name) {
            Ok(l) => Some(l),
            Err(e) => {
                tracing::warn!(error = %e, "this box cannot update itself");
                None
            }
        }
    } else {
        None
    };
    let control = match helper {
        Some(h) => Control::Helper(h),
        None => Control::InProcess(Default::default()),
    };
    Updates::new(layout, control, dir, PathBuf::from(crate::privileged_helper::RECORD), channel)
}

async fn serve(
    args: RunArgs,
    config: Config,
    started: Instant,
    power: Option<Arc<dyn Power>>,
    helper: Option<Arc<Helper>>,
) -> anyhow::Result<()> {
    let data = args.data.clone();
    hearth_platform::durable::ensure_writable_dir(&data, 0o700).map_err(|e| {
        anyhow!(
            "the data folder {} is not usable: {e}\n  what to do: create it, or make it writable for the user running hearthd",
            data.display()
        )
    })?;
    let data = std::fs::canonicalize(&data).unwrap_or(data);

    let board = board_profile(&config)?;
    tracing::info!(board = %board.name, version = hearth_core::version::VERSION, data = %data.display(), "starting Hearth");

    // A whole-box recovery prepared before the last restart is finished before anything opens
    // the catalog or the identity it replaces.
    if let Some(r) = hearth_backup::service::recovery::finish_pending(&data).map_err(explain)? {
        tracing::info!(snapshot = %r.snapshot, from = %r.host, taken = %r.time, "recovered this box from a backup");
    }
    // Updates: a catalog migrated by a newer system that was rolled back is put back as it was
    // before that migration (the newer one kept aside); a system on trial that is about to
    // migrate the catalog copies it first (docs/updates.md, "The catalog").
    let db = data.join("hearth.db");
    let update_dir = crate::privileged_helper::update_dir(&data);
    if let Some(r) = update_snapshots::restore_for_this_version(&db, &update_dir).map_err(explain)? {
        tracing::warn!(
            newer = r.newer_schema,
            kept = %r.kept_at.display(),
            "the catalog was migrated by a newer system that is no longer running; its copy from before is back in place"
        );
    }
    let helper_for_disks = helper.clone();
    let updates = Arc::new(updates(&args, &config, &board, &data, helper));
    if updates.on_trial()
        && let Ok(Some(schema)) = update_snapshots::schema_of(&db)
        && schema < hearth_catalog::migrations::latest()
    {
        let (copy, schema) = update_snapshots::snapshot(&db, &update_dir).map_err(explain)?;
        tracing::info!(schema, copy = %copy.display(), "copied the catalog before this system on trial migrates it");
    }
    let (catalog, report) = Catalog::open(&db).map_err(explain)?;
    if report.from_version != report.to_version {
        tracing::info!(from = report.from_version, to = report.to_version, "catalog updated");
    }
    let catalog = Arc::new(catalog);

    let device_id = catalog
        .write(|tx| {
            if let Some(id) = settings::get(tx, "device_id")? {
                return Ok(id);
            }
            let mut raw = [0u8; 16];
            // The catalog cannot fail for randomness; fall back to time+pid only if the OS RNG is broken.
            if auth::secret::fill_random(&mut raw).is_err() {
                let t = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
                raw[..16].copy_from_slice(&t.to_le_bytes());
            }
            let id = auth::secret::hex(&raw);
            settings::set(tx, "device_id", &id)?;
            Ok(id)
        })
        .map_err(explain)?;
    let unclaimed = catalog.read(users::count).map_err(explain)? == 0;
    let setup = SetupCode::prepare(&data, unclaimed).with_context(|| format!("cannot write the setup code into {}", data.display()))?;

    let suffix: String = device_id.chars().take(4).collect();
    let tls = match config.http.https_listen {
        Some(_) => {
            let names = vec![
                format!("{}.local", config.mdns.hostname),
                format!("{}-{suffix}.local", config.mdns.hostname),
                "localhost".to_string(),
                "127.0.0.1".to_string(),
            ];
            Some(tls::load_or_create(&data.join("tls"), &names).map_err(explain)?)
        }
        None => None,
    };
    let listeners = Listeners::bind(
        config.http.listen,
        config.http.https_listen.zip(tls.as_ref().map(|t| t.config.clone())),
        Some(&data.join("hearthd.sock")),
    )
    .map_err(explain)?;
    let http_addr = listeners.http_addr().context("the HTTP listener has no address")?;
    // The sync identity: made once; peers pair with its device id, so it must never change.
    let sync_identity = hearth_sync::identity::Identity::load_or_create(&data.join("sync")).map_err(explain)?;
    let https_addr = listeners.https_addr();

    let device = DeviceInfo {
        id: device_id,
        name: config.device.name.clone(),
        version: hearth_core::version::VERSION.to_string(),
        board: board.name.clone(),
        https_port: https_addr.map(|a| a.port()),
        cert_sha256: tls.as_ref().map(|t| t.fingerprint.clone()),
        sync_device_id: Some(sync_identity.device_id.to_string()),
    };
    let status = StatusBoard::new();
    // Uploads to hosted repositories that a crash cut off: nothing names them, so they go.
    let stale = hearth_backup::hosting::remove_stale_uploads(&data.join("restic"));
    if stale > 0 {
        tracing::info!(files = stale, "removed uploads to hosted backup repositories that a crash cut off");
    }
    // The name the family gave the box at claim or since, else the configured one.
    let box_settings = hearth_api::box_settings::LiveSettings::load(&catalog, &config.device.name).map_err(explain)?;
    let box_name = box_settings.current().name.to_string();
    let sync_engine = config.sync.listen.map(|_| hearth_sync::engine::Engine::new(catalog.clone(), sync_identity.clone(), box_name));
    let config = Arc::new(config);
    // Free-text search, when the family provided an image/text model: its text half in this
    // process, loaded at the first search (at most two of the board's cores for it).
    let sentences =
        config.ml.embedding.as_ref().map(|e| Arc::new(crate::sentences::ProvidedSentences::new(e, board.cores.clamp(1, 2) as usize)));
    let (files_written, _) = tokio::sync::broadcast::channel(256);
    let dav_instance = format!("oc{}", device.id.chars().take(10).collect::<String>());
    let state = AppState {
        catalog: catalog.clone(),
        config: config.clone(),
        board: Arc::new(board.clone()),
        status: status.clone(),
        clock: Arc::new(hearth_platform::clock::SystemClock),
        throttle: Arc::new(auth::throttle::Throttle::new(&config.accounts)),
        setup: Arc::new(setup),
        local_networks: Arc::new(hearth_platform::network::local_networks()),
        device: Arc::new(device),
        data_dir: data.clone(),
        sync: sync_engine.clone(),
        power,
        live: Default::default(),
        box_settings,
        verified_passwords: Default::default(),
        memberships: Default::default(),
        link_tokens: Default::default(),
        // On the appliance the helper reads the disks as root; in a development checkout, here.
        disks: Arc::new({
            let disks = match &helper_for_disks {
                Some(h) => hearth_disks::service::Disks::through_helper(h.clone(), hearth_disks::service::HELPER_INVENTORY.into())
                    .looking_after_pool(data.clone()),
                None => hearth_disks::service::Disks::default(),
            };
            // Where prepare-data found the data (and a move it made) at this start.
            if let Some(status) = args.data_status.as_deref().and_then(|p| crate::prepare_data::read_status(p).ok()) {
                disks.set_data_start(status.home);
            }
            disks
        }),
        login_flows: Default::default(),
        files_written: files_written.clone(),
        hosted_usage: Default::default(),
        // Nextcloud's instance ids are "oc" and ten letters or digits; ours come from the box's id.
        dav: Arc::new(hearth_dav::Dav::for_instance(&dav_instance)),
        backups: Default::default(),
        recovery: Default::default(),
        updates: updates.clone(),
        sentences: sentences.clone().map(|s| s as Arc<dyn hearth_api::state::SentenceVectors>),
    };

    let limits = Limits::detect(&board);
    if let Limits::Off(reason) = &limits {
        tracing::info!(%reason, "resource limits are off (no usable cgroup v2); services run without memory/CPU/IO limits");
    }
    let announcements = Announcements::new();
    let mut supervisor = Supervisor::new(status.clone(), limits, config.supervisor.shutdown_timeout);
    supervisor.task(Arc::new(ApiService::new(state.clone(), listeners, announcements.clone())), RestartPolicy::default());
    supervisor.task(Arc::new(crate::files_keeper::FilesKeeper(state.clone())), RestartPolicy::default());
    supervisor.task(Arc::new(hearth_disks::service::DisksService(state.disks.clone())), RestartPolicy::default());
    if args.appliance {
        supervisor.task(
            Arc::new(crate::clock_keeper::ClockKeeper::new(data.clone(), config.clock.ntp_servers.clone())),
            RestartPolicy::default(),
        );
    }
    supervisor.task(
        Arc::new(crate::update_keeper::UpdateKeeper {
            updates: updates.clone(),
            status: status.clone(),
            catalog: catalog.clone(),
            power: state.power.clone(),
            grace: config.update.health_grace,
            limit: config.update.trial_limit,
            check_every: config.update.check_every,
        }),
        RestartPolicy::default(),
    );
    if let Some(sentences) = &sentences {
        supervisor.task(Arc::new(crate::sentences::SentencesKeeper(sentences.clone())), RestartPolicy::default());
    }
    if config.mdns.enabled {
        supervisor.task(Arc::new(MdnsService::new(announcements.clone(), &config.mdns.hostname, &suffix)), RestartPolicy::default());
    }
    supervisor.task(
        Arc::new(crate::photo_sources::PhotoSources::new(
            sync_engine.clone(),
            files_written.clone(),
            catalog.clone(),
            data.clone(),
            config.files.photo_folders.clone(),
        )),
        RestartPolicy::default(),
    );
    if let (Some(addr), Some(engine)) = (config.sync.listen, sync_engine) {
        let service = hearth_sync::service::SyncService::new(engine, addr, config.sync.local_discovery);
        supervisor.task(Arc::new(service), RestartPolicy::default());
    }
    let exe = std::env::current_exe().context("cannot find hearthd's own program file")?;
    supervisor.worker(
        WorkerSpec {
            kind: "maintenance",
            program: exe.clone(),
            args: vec!["worker".into(), "maintenance".into(), "--data".into(), data.clone().into()],
        },
        RestartPolicy::default(),
    );
    supervisor.worker(
        WorkerSpec {
            kind: "backup",
            program: exe.clone(),
            args: vec!["worker".into(), "backup".into(), "--data".into(), data.clone().into()],
        },
        RestartPolicy::default(),
    );
    supervisor.worker(
        WorkerSpec {
            kind: "ml",
            program: exe.clone(),
            args: {
                let mut args: Vec<std::ffi::OsString> = vec![
                    "worker".into(),
                    "ml".into(),
                    "--data".into(),
                    data.clone().into(),
                    "--threads".into(),
                    board.cores.max(1).to_string().into(),
                ];
                if let Some(dir) = &config.ml.models_dir {
                    args.extend(["--models".into(), dir.clone().into()]);
                }
                args.extend(["--arithmetic".into(), board.ml_arithmetic.as_str().into()]);
                if board.npu == hearth_core::board::Npu::Rknpu2 {
                    let library = config.ml.npu_library.clone().unwrap_or_else(|| hearth_platform::rknn::DEFAULT_LIBRARY.into());
                    args.extend(["--npu-library".into(), library.into()]);
                }
                if let Some(e) = &config.ml.embedding {
                    args.extend([
                        "--embedding-model".into(),
                        e.image_model.clone().into(),
                        "--embedding-side".into(),
                        e.image_side.to_string().into(),
                    ]);
                }
                args
            },
        },
        RestartPolicy::default(),
    );
    supervisor.worker(
        WorkerSpec {
            kind: "thumbnail",
            program: exe,
            args: vec![
                "worker".into(),
                "thumbnail".into(),
                "--data".into(),
                data.clone().into(),
                "--threads".into(),
                board.worker_concurrency.to_string().into(),
            ],
        },
        RestartPolicy::default(),
    );

    let (trigger, shutdown) = shutdown::channel();
    if board.watchdog && config.supervisor.watchdog {
        let sd = shutdown.clone();
        tokio::spawn(async move {
            hearth_supervisor::watchdog::run(Path::new("/dev/watchdog"), sd, hearth_supervisor::watchdog::FEED_EVERY).await
        });
    }
    let signals = tokio::spawn(async move {
        wait_for_signal().await;
        tracing::info!("shutting down");
        trigger.fire();
    });

    if let Some(code) = state.setup.current() {
        tracing::warn!("this Hearth has no owner yet: open the web page to claim it; from outside its network the setup code is {code}");
        eprintln!("\n    Setup code: {code}\n");
    }
    let elapsed = started.elapsed();
    tracing::info!(
        http = %format!("http://{http_addr}/"),
        https = %https_addr.map(|a| format!("https://{a}/")).unwrap_or_else(|| "off".into()),
        ms = elapsed.as_millis() as u64,
        "Hearth is running: open http://{http_addr}/"
    );

    supervisor.run(shutdown).await;
    signals.abort();
    if let Err(e) = catalog.checkpoint() {
        tracing::warn!(error = %e, "final catalog checkpoint failed (the WAL keeps the data)");
    }
    tracing::info!("stopped");
    Ok(())
}

async fn wait_for_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    let (Ok(mut term), Ok(mut int)) = (signal(SignalKind::terminate()), signal(SignalKind::interrupt())) else {
        // Without signal handlers the process still stops on the default action.
        std::future::pending::<()>().await;
        return;
    };
    tokio::select! {
        _ = term.recv() => {},
        _ = int.recv() => {},
    }
}
