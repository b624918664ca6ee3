//! `hearth ota …` without a daemon: make signing keys, build and sign bundles from a slot image
//! (qemu/build-image and buildroot's post-image step run `bundle`), check a bundle
//! (docs/update-bundle.md). The box's own updates are `hearth updates …` (through hearthd).

use std::io::BufReader;
use std::path::PathBuf;

use anyhow::{Context, bail};
use clap::Subcommand;
use hearth_ota::bundle::{head, payload, writer};
use hearth_ota::keys::{PublicKey, SigningKey, TrustedKeys};
use hearth_ota::version::Version;

#[derive(Subcommand, Debug)]
pub enum OtaCommand {
    /// Make an ed25519 signing key: KEY (private, 0600) and KEY.pub (for the image's trusted keys).
    Keygen {
        /// Where to write the private key; the public key goes beside it with `.pub` added.
        #[arg(long)]
        out: PathBuf,
        /// Said in both files (who the key belongs to).
        #[arg(long, default_value = "Hearth release key")]
        comment: String,
    },
    /// Build and sign an update bundle of a root slot image.
    Bundle(Box<BundleArgs>),
    /// What a box running IMAGE would download to install BUNDLE from a channel: the bundle's
    /// start and the chunks IMAGE lacks (no signature check: a release tool).
    Delta {
        /// The running slot's image.
        #[arg(long)]
        running: PathBuf,
        /// The bundle.
        bundle: PathBuf,
    },
    /// Install a bundle on the box (a file, or an http(s):// address it downloads from), through
    /// hearthd: the same as `hearth updates install`.
    Install {
        /// The bundle: a file, or an address.
        bundle: String,
        /// Restart the box into the new system once it is written.
        #[arg(long)]
        restart: bool,
    },
    /// Check a bundle: its signature with the keys in DIR, every chunk, the image's hash.
    Verify {
        /// The bundle.
        bundle: PathBuf,
        /// A folder of trusted `*.pub` keys.
        #[arg(long)]
        keys: PathBuf,
    },
}

/// What `hearth ota bundle` builds.
#[derive(clap::Args, Debug)]
pub struct BundleArgs {
    /// The slot image (ext4, as written to a root slot).
    #[arg(long)]
    image: PathBuf,
    /// The private signing key.
    #[arg(long)]
    key: PathBuf,
    /// The system's version (MAJOR.MINOR.PATCH[-PRE]).
    #[arg(long)]
    version: Version,
    /// The oldest version that may install it (default: its own major.minor.0).
    #[arg(long)]
    min_version: Option<Version>,
    /// A board it runs on (repeat for more).
    #[arg(long = "board", required = true)]
    boards: Vec<String>,
    /// Release notes, from a text file.
    #[arg(long)]
    notes_file: Option<PathBuf>,
    /// The source it was built from.
    #[arg(long, default_value = "")]
    commit: String,
    /// Unix seconds it was built (default: now).
    #[arg(long)]
    created: Option<i64>,
    /// zstd level of the chunks.
    #[arg(long, default_value_t = 15)]
    level: i32,
    /// The bundle to write.
    #[arg(long)]
    out: PathBuf,
}

pub fn run(command: OtaCommand) -> anyhow::Result<()> {
    match command {
        OtaCommand::Install { .. } => bail!("hearth ota install talks to the daemon"),
        OtaCommand::Keygen { out, comment } => {
            let public_path = PathBuf::from(format!("{}.pub", out.display()));
            if out.exists() || public_path.exists() {
                bail!("{} or {} exists already; a key is never overwritten", out.display(), public_path.display());
            }
            let (key, text) = SigningKey::generate(&comment)?;
            use std::io::Write;
            use std::os::unix::fs::OpenOptionsExt;
            let mut f = std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(&out)
                .with_context(|| format!("writing {}", out.display()))?;
            f.write_all(text.as_bytes())?;
            f.sync_all()?;
            std::fs::write(&public_path, key.public().to_file_text()).with_context(|| format!("writing {}", public_path.display()))?;
            println!("key {}: {} and {}", key.public().id(), out.display(), public_path.display());
        }
        OtaCommand::Bundle(args) => {
            let BundleArgs { image, key, version, min_version, boards, notes_file, commit, created, level, out } = *args;
            let key = SigningKey::load(&key)?;
            let notes = match notes_file {
                Some(p) => std::fs::read_to_string(&p).with_context(|| format!("reading {}", p.display()))?,
                None => String::new(),
            };
            let min_version = match min_version {
                Some(v) => v,
                None => "0.0.0".parse().context("the default minimum version")?,
            };
            let created = created.unwrap_or_else(|| {
                std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0)
            });
            let release = writer::Release { version, min_version, boards, created, commit, notes };
            let w = writer::write(&release, &image, &key, &out, level)?;
            println!(
                "{}: version {}, {} bytes ({} byte image in {} chunks, {} distinct), signed by key {}",
                out.display(),
                release.version,
                w.bundle_len,
                w.image_size,
                w.chunks,
                w.distinct,
                key.public().id()
            );
        }
        OtaCommand::Delta { running, bundle } => {
            let mut r = BufReader::new(std::fs::File::open(&bundle).with_context(|| format!("opening {}", bundle.display()))?);
            let h = head::read_unverified(&mut r)?;
            let image = std::fs::File::open(&running).with_context(|| format!("opening {}", running.display()))?;
            let never = std::sync::atomic::AtomicBool::new(false);
            let local = hearth_ota::channel::LocalChunks::cut(image, &h.manifest.chunker, &never, &mut |_| {})?;
            let fetch = hearth_ota::channel::DeltaSource::to_fetch(&h, Some(&local)) + h.payload_offset;
            let total = h.bundle_len();
            println!(
                "{}: {fetch} of {total} bytes to download from a box running {} ({:.1} %)",
                bundle.display(),
                running.display(),
                fetch as f64 * 100.0 / total as f64
            );
        }
        OtaCommand::Verify { bundle, keys } => {
            let keys = TrustedKeys::load_dir(&keys)?;
            let file = std::fs::File::open(&bundle).with_context(|| format!("opening {}", bundle.display()))?;
            let len = file.metadata()?.len();
            let mut r = BufReader::with_capacity(1 << 20, file);
            let h = head::read(&mut r, &keys)?;
            if len != h.bundle_len() {
                bail!("the bundle is {len} bytes; its manifest says {}", h.bundle_len());
            }
            let m = &h.manifest;
            let mut hasher = blake3::Hasher::new();
            let mut chunks: Vec<Vec<u8>> = Vec::with_capacity(m.store.len());
            for (i, entry) in m.store.iter().enumerate() {
                let mut stored = vec![0u8; entry.stored_size as usize];
                std::io::Read::read_exact(&mut r, &mut stored).context("reading the payload")?;
                chunks.push(payload::decode(i, entry, &stored)?);
            }
            for &c in &m.image.chunks {
                hasher.update(&chunks[c as usize]);
            }
            if hasher.finalize() != m.image.hash {
                bail!("the image does not add up to its hash");
            }
            let signer: &PublicKey = &h.signed_by;
            println!(
                "{}: version {} (from {}) for {}, {} byte image, signed by {} ({}): good",
                bundle.display(),
                m.version,
                m.min_version,
                m.boards.join(", "),
                m.image.size,
                signer.id(),
                signer.comment
            );
        }
    }
    Ok(())
}
