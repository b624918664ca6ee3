//! The `ml` worker process (docs/ml.md): works the `faces` and `tags` jobs of the photo library's
//! queue (and `embeddings` when the family provided an image/text model) in the board's `ml`
//! budget, below thumbnails (it waits while thumbnail jobs are queued: a
//! family wants to see new photos before anything recognises faces in them), and groups every
//! face again once a day.
//!
//! CPU: its threads run at the lowest priority (nice 19), inside the `ml` cgroup's weight on the
//! board; the API and the thumbnails come first even where cgroups are not writable.
//!
//! Memory: the models are loaded when there is work and dropped after a minute without any, so
//! on a 2 GB board the worker costs nothing while the library is quiet; only one task's models
//! (the two face models, the two taggers, or the provided model's image half) are in memory at a time, the loaded task working
//! through its queue before the other's load. One job at a time; tract
//! uses `--threads` cores for it (the board's `workers.concurrency`).
//!
//! A job that runs past [`JOB_LIMIT`] is cancelled by ending the process: the job stays
//! `running`, the supervisor restarts the worker, which retries it once and then sets it aside
//! (`hearth_ml::face_jobs::recover`, `hearth_ml::tag_jobs::recover`), as a crash would.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::time::{Duration, Instant};

use hearth_catalog::embeddings::EMBEDDINGS_JOB;
use hearth_catalog::people::FACES_JOB;
use hearth_catalog::tags::TAGS_JOB;
use hearth_catalog::{Catalog, jobs};
use hearth_ml::backend::Backend;
use hearth_ml::backend::rknn_npu::{NpuFirst, RknnNpu};
use hearth_ml::backend::tract_cpu::TractCpu;
use hearth_ml::embedding::Fingerprints;
use hearth_ml::embedding::clip::ClipImageEncoder;
use hearth_ml::embedding_jobs;
use hearth_ml::face_jobs::{self, Ended, FaceModels, RunError};
use hearth_ml::faces::detector::{DetectorLimits, FaceDetector};
use hearth_ml::faces::embedder::FaceEmbedder;
use hearth_ml::model_store::ModelStore;
use hearth_ml::people::GroupingRules;
use hearth_ml::tag_jobs;
use hearth_ml::tags::Tagger;
use hearth_platform::clock::{Clock, SystemClock};

/// How often an idle worker looks at the queue.
const IDLE_POLL: Duration = Duration::from_millis(500);
/// Models are dropped after this long without a job.
const UNLOAD_AFTER: Duration = Duration::from_secs(60);
/// After a model fails to load, this long before trying again.
const MODEL_RETRY: Duration = Duration::from_secs(60);
/// One photo's faces take well under a second on a Pi 4; this much means something is wrong.
pub const JOB_LIMIT: Duration = Duration::from_secs(300);
/// How often an idle worker queues the photos that arrived without a vector (provided model).
const QUEUE_VECTORS_EVERY: Duration = Duration::from_secs(60);

/// What the `ml` worker is told besides the data folder and threads.
#[derive(Debug, Clone, Default)]
pub struct MlOptions {
    /// The pinned models' folder (`ml.models_dir`); the built-in place when `None`.
    pub models: Option<PathBuf>,
    /// The provided image/text model's image half and the picture side it takes
    /// (`ml.embedding`); `None`: no vectors are made.
    pub embedding: Option<(PathBuf, u32)>,
    /// The NPU runtime to load, on a board whose profile has an NPU (`ml.npu_library`); `None`:
    /// the CPU only.
    pub npu_library: Option<PathBuf>,
    /// How the CPU backend computes (the board profile's `ml.arithmetic`).
    pub arithmetic: hearth_core::board::MlArithmetic,
}

fn now() -> i64 {
    i64::try_from(SystemClock.now_secs()).unwrap_or(i64::MAX)
}

/// The worker's main.
pub async fn main(data: &Path, threads: u32, options: &MlOptions) -> ExitCode {
    use tokio::signal::unix::{SignalKind, signal};
    let Ok(mut term) = signal(SignalKind::terminate()) else { return ExitCode::from(2) };
    let catalog = match Catalog::open(&data.join("hearth.db")) {
        Ok((c, _)) => Arc::new(c),
        Err(e) => {
            tracing::error!(error = %e, "the ML worker cannot open the catalog");
            return ExitCode::from(1);
        }
    };
    let recovered = face_jobs::recover(&catalog, now())
        .and_then(|f| tag_jobs::recover(&catalog, now()).map(|t| (f.0 + t.0, f.1 + t.1)))
        .and_then(|r| embedding_jobs::recover(&catalog, now()).map(|e| (r.0 + e.0, r.1 + e.1)));
    match recovered {
        Ok((0, 0)) => {}
        Ok((requeued, quarantined)) => {
            tracing::warn!(
                requeued,
                quarantined,
                "the previous ML worker stopped in the middle of a photo; it is retried once, then set aside"
            )
        }
        Err(e) => {
            tracing::error!(error = %e, "the ML worker cannot recover its jobs");
            return ExitCode::from(1);
        }
    }
    let stop = Arc::new(AtomicBool::new(false));
    // When the job in hand started (Unix seconds), 0 when none.
    let started = Arc::new(AtomicI64::new(0));
    let (failed_tx, mut failed_rx) = tokio::sync::mpsc::unbounded_channel::<String>();
    let thread = {
        let (catalog, data, stop, started) = (catalog.clone(), data.to_path_buf(), stop.clone(), started.clone());
        let options = options.clone();
        std::thread::Builder::new().name("ml".into()).spawn(move || {
            if let Err(e) = work(&catalog, &data, &options, threads, &stop, &started) {
                let _ = failed_tx.send(e);
            }
        })
    };
    let thread = match thread {
        Ok(t) => t,
        Err(e) => {
            tracing::error!(error = %e, "cannot start the ML thread");
            return ExitCode::from(1);
        }
    };
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    let code = loop {
        tokio::select! {
            _ = term.recv() => break ExitCode::SUCCESS,
            Some(e) = failed_rx.recv() => {
                tracing::error!(error = %e, "the ML worker stops; the supervisor starts it again");
                break ExitCode::from(1);
            }
            _ = tick.tick() => {
                let since = started.load(Ordering::Relaxed);
                if since > 0 && now() - since > JOB_LIMIT.as_secs() as i64 {
                    tracing::error!(limit_secs = JOB_LIMIT.as_secs(), "a photo's analysis ran past its time limit: the worker stops, and the photo is retried once, then set aside");
                    std::process::exit(3);
                }
            }
        }
    };
    stop.store(true, Ordering::Relaxed);
    let _ = tokio::task::spawn_blocking(move || thread.join()).await;
    code
}

fn load(store: &ModelStore, backend: &dyn Backend) -> Result<FaceModels, hearth_ml::MlError> {
    Ok(FaceModels {
        detector: FaceDetector::load(store, backend, DetectorLimits::default())?,
        embedder: FaceEmbedder::load(store, backend)?,
    })
}

/// What the worker says of itself in the catalog's `ml.status` (docs/ml.md): what it runs on, why
/// not on the board's NPU, and what keeps any task's models from loading (each task's problem,
/// joined; the guidance of the first that has one).
struct Reporter<'a> {
    catalog: &'a Catalog,
    threads: u32,
    arithmetic: hearth_core::board::MlArithmetic,
    dir: &'a Path,
    embedding: Option<&'a Path>,
    /// The NPU backend, when the board has an NPU and its runtime loaded.
    npu: Option<&'a NpuFirst>,
    /// Why the board's NPU cannot be used at all (its runtime would not load).
    npu_unusable: Option<String>,
}

impl Reporter<'_> {
    fn report(&self, problems: &BTreeMap<Task, (String, Option<String>)>) {
        let problem = (!problems.is_empty()).then(|| problems.values().map(|(p, _)| p.as_str()).collect::<Vec<_>>().join("; "));
        let guidance = problems.values().find_map(|(_, g)| g.clone());
        // Never a silent fallback: the models the NPU does not run, and why.
        let npu_problem = self.npu_unusable.clone().or_else(|| {
            let on_cpu = self.npu?.on_cpu();
            (!on_cpu.is_empty()).then(|| on_cpu.values().map(|why| format!("on the CPU, {why}")).collect::<Vec<_>>().join("; "))
        });
        set_status(
            self.catalog,
            serde_json::json!({
                "backend": if self.npu.is_some() { "npu" } else { "cpu" },
                "threads": self.threads,
                "arithmetic": self.arithmetic,
                "models": self.dir,
                "embedding_model": self.embedding,
                "npu_problem": npu_problem,
                "problem": problem,
                "guidance": guidance,
            }),
        );
    }
}

fn set_status(catalog: &Catalog, status: serde_json::Value) {
    let text = status.to_string();
    if let Err(e) = catalog.write(|tx| hearth_catalog::settings::set(tx, hearth_catalog::people::ML_STATUS_KEY, &text)) {
        tracing::warn!(error = %e, "cannot record the ML worker's status");
    }
}

/// The two kinds of ML job; the worker has the models of one of them loaded at a time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Task {
    Faces,
    Tags,
    Embeddings,
}

impl Task {
    fn job_kind(self) -> &'static str {
        match self {
            Task::Faces => FACES_JOB,
            Task::Tags => TAGS_JOB,
            Task::Embeddings => EMBEDDINGS_JOB,
        }
    }
}

/// The models in memory.
enum Loaded {
    Faces(FaceModels),
    Tags(Box<Tagger>),
    Embeddings(Box<ClipImageEncoder>),
}

impl Loaded {
    fn task(&self) -> Task {
        match self {
            Loaded::Faces(_) => Task::Faces,
            Loaded::Tags(_) => Task::Tags,
            Loaded::Embeddings(_) => Task::Embeddings,
        }
    }
}

fn load_task(
    task: Task,
    store: &ModelStore,
    embedding: Option<&(PathBuf, u32)>,
    backend: &dyn Backend,
) -> Result<Loaded, hearth_ml::MlError> {
    Ok(match task {
        Task::Faces => Loaded::Faces(load(store, backend)?),
        Task::Tags => Loaded::Tags(Box::new(Tagger::load(store, backend)?)),
        Task::Embeddings => match embedding {
            Some((path, side)) => Loaded::Embeddings(Box::new(ClipImageEncoder::load(path, *side, backend)?)),
            // Not chosen without a model (`work`).
            None => {
                return Err(hearth_ml::MlError::ModelRefused {
                    model: hearth_ml::ModelId::ImageEmbedder,
                    reason: "no image/text model is set up (ml.embedding)".into(),
                });
            }
        },
    })
}

/// Queues the photos without a vector of the provided model (and, when the model file changed,
/// starts over with it). A missing or unreadable file is the task's problem.
fn queue_vectors(catalog: &Catalog, model: &mut Fingerprints) -> Result<Result<(), hearth_ml::MlError>, String> {
    let fingerprint = match model.current() {
        Ok(f) => f,
        Err(e) => return Ok(Err(e)),
    };
    let queued = embedding_jobs::prepare(catalog, &fingerprint, now()).map_err(|e| e.to_string())?;
    if queued > 0 {
        tracing::info!(queued, "photos queued for their vectors (free-text search)");
    }
    Ok(Ok(()))
}

/// The job loop, on its own thread. `Err` when the catalog fails (the supervisor restarts us).
fn work(catalog: &Catalog, data: &Path, options: &MlOptions, threads: u32, stop: &AtomicBool, started: &AtomicI64) -> Result<(), String> {
    let dir = &options.models.clone().unwrap_or_else(ModelStore::default_dir);
    let (embedding, npu_library) = (options.embedding.clone(), options.npu_library.as_deref());
    // Before tract starts its threads: they inherit it. The API and the thumbnails come first.
    if !hearth_platform::process::lowest_cpu_priority_for_this_thread() {
        tracing::warn!("cannot lower the ML worker's CPU priority; it competes with the daemon for the CPU");
    }
    let store = ModelStore::new(dir).map_err(|e| e.to_string())?;
    let cpu = TractCpu::new(threads as usize).with_arithmetic(options.arithmetic);
    // A board with an NPU uses it for every model converted for it, the CPU for the rest.
    let (npu, npu_unusable) = match npu_library {
        None => (None, None),
        Some(library) => match RknnNpu::open(library) {
            Ok(runtime) => (Some(NpuFirst::new(runtime, cpu.clone())), None),
            Err(e) => {
                tracing::error!(error = %e, "this board's NPU cannot be used; every model runs on the CPU");
                (None, Some(hearth_ml::backend::rknn_npu::reason(&e)))
            }
        },
    };
    let backend: &dyn Backend = match &npu {
        Some(n) => n,
        None => &cpu,
    };
    let cache = data.join("cache");
    let preview = move |checksum: &[u8; 32]| -> PathBuf {
        hearth_photos::thumbnail_jobs::thumbnail_path(&cache, checksum, hearth_photos::thumbnail::VIEW)
    };
    let rules = GroupingRules::default();
    let mut loaded: Option<Loaded> = None;
    let mut last_job = Instant::now();
    // Per task: when its models last failed to load (until they load).
    let mut load_failed_at: BTreeMap<Task, Instant> = BTreeMap::new();
    let queued = |kind: &str| catalog.read(|r| jobs::has_queued(r, kind)).map_err(|e| e.to_string());
    // Each task's models' last problem (and what to do about it), until they load.
    let mut problems: BTreeMap<Task, (String, Option<String>)> = BTreeMap::new();
    let embedding_path = embedding.as_ref().map(|(p, _)| p.as_path());
    let reporter =
        Reporter { catalog, threads, arithmetic: options.arithmetic, dir, embedding: embedding_path, npu: npu.as_ref(), npu_unusable };
    if reporter.npu_unusable.is_some() {
        reporter.report(&problems);
    }
    // When the photos without a vector were last queued (never: at the first idle moment).
    let mut vectors_queued: Option<Instant> = None;
    let mut fingerprints = embedding_path.map(Fingerprints::new);
    while !stop.load(Ordering::Relaxed) {
        let thumbnails_waiting = queued(jobs::THUMBNAILS)?;
        // The loaded task keeps going while it has work (no reloading per photo); faces come first.
        let mut task = None;
        if !thumbnails_waiting {
            let order = match loaded.as_ref().map(Loaded::task) {
                Some(Task::Tags) => [Task::Tags, Task::Faces, Task::Embeddings],
                Some(Task::Embeddings) => [Task::Embeddings, Task::Faces, Task::Tags],
                _ => [Task::Faces, Task::Tags, Task::Embeddings],
            };
            for t in order {
                if t == Task::Embeddings && embedding_path.is_none() {
                    // Jobs left from an earlier configuration wait for a model.
                    continue;
                }
                let may_load = load_failed_at.get(&t).is_none_or(|at| at.elapsed() >= MODEL_RETRY);
                if may_load && queued(t.job_kind())? {
                    task = Some(t);
                    break;
                }
            }
        }
        let Some(task) = task else {
            if let Some(model) = fingerprints.as_mut()
                && !thumbnails_waiting
                && vectors_queued.is_none_or(|at| at.elapsed() >= QUEUE_VECTORS_EVERY)
            {
                vectors_queued = Some(Instant::now());
                match queue_vectors(catalog, model)? {
                    Ok(()) => {
                        if problems.remove(&Task::Embeddings).is_some() {
                            reporter.report(&problems);
                        }
                    }
                    Err(e) => {
                        tracing::error!(error = %e, "the image/text model cannot be read; no vectors are made");
                        problems.insert(Task::Embeddings, (e.to_string(), hearth_core::Kinded::guidance(&e)));
                        reporter.report(&problems);
                    }
                }
                continue;
            }
            if loaded.is_some() && last_job.elapsed() > UNLOAD_AFTER {
                loaded = None;
                tracing::info!("no photos to analyse for a minute: the models are unloaded");
            }
            if !thumbnails_waiting && face_jobs::regroup_due(catalog, now()).map_err(|e| e.to_string())? {
                let t = Instant::now();
                let changed = face_jobs::regroup_all(catalog, rules, now()).map_err(|e| e.to_string())?;
                tracing::info!(changed, ms = t.elapsed().as_millis() as u64, "every face grouped again");
            }
            std::thread::sleep(IDLE_POLL);
            continue;
        };
        if loaded.as_ref().map(Loaded::task) != Some(task) {
            // One task's models at a time: the others go before these load.
            loaded = None;
            let t = Instant::now();
            match load_task(task, &store, embedding.as_ref(), backend) {
                Ok(m) => {
                    if let Loaded::Embeddings(encoder) = &m {
                        // The file may have changed since it was queued for: its vectors start over.
                        embedding_jobs::prepare(catalog, encoder.fingerprint(), now()).map_err(|e| e.to_string())?;
                    }
                    tracing::info!(?task, ms = t.elapsed().as_millis() as u64, backend = backend.name(), threads, "models loaded");
                    problems.remove(&task);
                    reporter.report(&problems);
                    loaded = Some(m);
                    load_failed_at.remove(&task);
                }
                Err(e) => {
                    let guidance = hearth_core::Kinded::guidance(&e);
                    tracing::error!(?task, error = %e, guidance = guidance.as_deref().unwrap_or(""), "the models cannot be loaded; photos wait for them");
                    problems.insert(task, (e.to_string(), guidance));
                    reporter.report(&problems);
                    load_failed_at.insert(task, Instant::now());
                    continue;
                }
            }
        }
        let Some(job) = catalog.write(|tx| jobs::claim(tx, task.job_kind(), now())).map_err(|e| e.to_string())? else { continue };
        started.store(now(), Ordering::Relaxed);
        let ended = match loaded.as_mut() {
            Some(Loaded::Faces(m)) => face_jobs::run(catalog, m, &job, &preview, rules, &now),
            Some(Loaded::Tags(m)) => tag_jobs::run(catalog, m, &job, &preview, &now),
            Some(Loaded::Embeddings(m)) => {
                let fingerprint = m.fingerprint().to_string();
                embedding_jobs::run(catalog, m.as_mut(), &fingerprint, &job, &preview, &now)
            }
            None => Ok(Ended::Gone),
        };
        started.store(0, Ordering::Relaxed);
        last_job = Instant::now();
        match ended {
            Ok(Ended::Found(n)) => tracing::debug!(?task, asset = job.asset_id, found = n, "photo analysed"),
            Ok(Ended::Gone) => tracing::debug!(?task, asset = job.asset_id, "the asset was deleted before its analysis"),
            Ok(Ended::Failed(why)) => tracing::info!(?task, asset = job.asset_id, %why, "this photo cannot be analysed"),
            Err(RunError::Model(e)) => {
                // Not the photo's fault: it goes back to the queue, the models are loaded again.
                let _ = catalog.write(|tx| jobs::release(tx, job.id));
                tracing::error!(?task, error = %e, "a model failed; it is loaded again");
                problems.insert(task, (e.to_string(), hearth_core::Kinded::guidance(&e)));
                reporter.report(&problems);
                loaded = None;
                load_failed_at.insert(task, Instant::now());
            }
            Err(RunError::Catalog(e)) => {
                let _ = catalog.write(|tx| jobs::release(tx, job.id));
                return Err(e.to_string());
            }
        }
    }
    Ok(())
}
