//! `hearthd`: the Hearth daemon.
//!
//! - `hearthd --data DIR` runs the whole NAS against DIR with embedded defaults.
//! - `hearthd worker KIND --data DIR` is a worker process the supervisor starts itself.
//! - `hearthd check-config FILE` validates a configuration file and exits.
//! - `hearthd prepare-data --disk DEV` grows, checks or formats and mounts the image's data
//!   partition at boot (docs/image.md).
//! - `hearthd privileged-helper` is root's side of the appliance's hearthd once it dropped root.
//! - `hearthd update-watch` restarts an updated system on trial that never got healthy (rcS).
//!
//! The modules: [`run`] wires the services together; [`worker`] holds the worker kinds;
//! [`prepare_data`] is the image's data-partition boot step; [`privileged_helper`] does the
//! few things the unprivileged daemon may ask root for; [`photo_sources`] ingests photos that
//! sync completes in camera folders and scans the watched photo folders; [`clock_keeper`] sets the
//! appliance's clock from NTP and saves it; [`update_keeper`] runs the health gate of an updated
//! system and looks at the update channel; [`sentences`] answers free-text searches with the
//! image/text model the family provided; [`ml_worker`] is the `ml` worker.

mod clock_keeper;
mod files_keeper;
mod ml_worker;
mod photo_sources;
mod prepare_data;
mod privileged_helper;
mod run;
mod sentences;
mod update_keeper;
mod worker;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Hearth, the home NAS.
#[derive(Parser, Debug)]
#[command(name = "hearthd", version, about = "Hearth, the home NAS daemon", args_conflicts_with_subcommands = true)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    run: run::RunArgs,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run a worker process (started by the supervisor, not by people).
    Worker {
        /// The worker kind.
        #[arg(value_parser = ["maintenance", "thumbnail", "backup", "ml"])]
        kind: String,
        /// The data folder.
        #[arg(long, env = "HEARTH_DATA")]
        data: PathBuf,
        /// Jobs worked on at once (the board's `workers.concurrency`).
        #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=64))]
        threads: u32,
        /// The `ml` worker's model folder (`ml.models_dir`); the built-in place when absent.
        #[arg(long)]
        models: Option<PathBuf>,
        /// The `ml` worker's provided image/text model, its image half (`ml.embedding.image_model`).
        #[arg(long)]
        embedding_model: Option<PathBuf>,
        /// The picture side that image half takes (`ml.embedding.image_side`).
        #[arg(long, default_value_t = 224, value_parser = clap::value_parser!(u32).range(16..=1024))]
        embedding_side: u32,
        /// The `ml` worker's NPU runtime (on a board with an NPU; `ml.npu_library`).
        #[arg(long)]
        npu_library: Option<PathBuf>,
        /// How the `ml` worker computes on the CPU (the board profile's `ml.arithmetic`).
        #[arg(long, default_value = "f32")]
        arithmetic: hearth_core::board::MlArithmetic,
    },
    /// Grow, check or format, and mount the data partition (the image's boot step).
    PrepareData(prepare_data::Args),
    /// The privileged helper (started by the appliance's hearthd before it drops root; requests
    /// on stdin, answers on stdout).
    PrivilegedHelper(privileged_helper::Args),
    /// The backstop of an updated system on trial (rcS starts it as root): restart the box when
    /// the system is still on trial well after `update.trial_limit_secs`.
    UpdateWatch {
        /// The data folder.
        #[arg(long, default_value = "/data")]
        data: PathBuf,
        /// The configuration file.
        #[arg(long)]
        config: Option<PathBuf>,
    },
    /// Check a configuration file and exit (0 when valid).
    CheckConfig {
        /// The file.
        file: PathBuf,
    },
}

fn main() -> ExitCode {
    hearth_platform::memory::pin_allocator_thresholds();
    let cli = Cli::parse();
    match cli.command {
        None => run::main(cli.run),
        Some(Command::Worker { kind, data, threads, models, embedding_model, embedding_side, npu_library, arithmetic }) => {
            let ml =
                ml_worker::MlOptions { models, embedding: embedding_model.map(|path| (path, embedding_side)), npu_library, arithmetic };
            worker::main(&kind, &data, threads, &ml)
        }
        Some(Command::PrepareData(args)) => prepare_data::main(&args),
        Some(Command::PrivilegedHelper(args)) => privileged_helper::main(&args),
        Some(Command::UpdateWatch { data, config }) => match run::load_config(config.as_deref()) {
            Ok(c) => {
                let board = c.device.board.clone().unwrap_or_else(|| hearth_platform::board::detect(std::path::Path::new("/")).name);
                update_keeper::watch(&c, &data, &board)
            }
            Err(e) => {
                eprintln!("{e:#}");
                ExitCode::from(2)
            }
        },
        Some(Command::CheckConfig { file }) => match run::load_config(Some(&file)) {
            Ok(_) => {
                println!("{}: valid", file.display());
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("{e:#}");
                ExitCode::from(2)
            }
        },
    }
}
