//! Container images for lab servers' Docker, made here: no container
//! registry is reachable from this machine or its servers.
//!
//! Design:
//! - `build` makes OCI/Docker v2 images from Debian packages. A debootstrap
//!   minbase bookworm root is the base layer every image shares; each image
//!   adds one layer, made by installing its packages with apt in a chroot on
//!   an overlayfs over that base (the overlay's upper directory *is* the
//!   layer; its whiteouts are rewritten in the OCI `.wh.` form). The
//!   appconda versions add one tiny layer each (the version file). Every
//!   layer is cached under its recipe's hash, so only a changed recipe
//!   rebuilds (a layer on a rebuilt base too). Tars are written sorted with
//!   numeric owners; a rebuild gives the same files, but not bit-identical
//!   blobs (dpkg logs and timestamps differ), so digests change with it.
//!   Blobs no tag reaches any more are pruned.
//! - A read-only Docker Registry v2 server (tokio, no extra crate) serves
//!   the manifests and blobs on the lab bridge, 172.31.250.1:5000. Lab
//!   servers' Docker uses it as a *mirror* of Docker Hub
//!   (`registry-mirrors` + `insecure-registries` in daemon.json), so compose
//!   files naming `mariadb:10.11` or `appconda/appconda:1.3.8` pull unchanged.
//!   A mirror rather than a rewritten image name: the book's files must run
//!   as written, and a mirror is how Docker takes Hub images from elsewhere.
//! - The server binds with IP_FREEBIND, so it can start before the bridge
//!   exists and keeps serving when the bridge is recreated. `lab down` stops
//!   it with the last server.
//! - It also answers `GET /condaplay/whoami` with the lab server name of the
//!   caller's address: the appconda stand-in shows `host=<server hostname>`
//!   from it (a container cannot otherwise learn its Docker host's name).
//!
//! Images: `mariadb:10.11` (and `10.7`, which the book's scaling chapter
//! names), `redis:7.2.4-alpine` (Debian's Redis 7 under the tag the book
//! names), `appconda/appconda:1.3.8`, `1.4.0` and `0.0.0-broken` (a small
//! Python stand-in of the real server, see files/appconda-server.py).

mod build;
mod recipes;
mod registry;

use std::path::{Path, PathBuf};

pub use build::build;
pub use registry::{serve, start, status, stop};

use crate::output::Printer;

/// Where images, the build cache and the registry's pid and log live.
pub const DEFAULT_STORE: &str = "/var/lib/condaplay/images";
/// The port of the registry on the lab bridge's address.
pub const PORT: u16 = 5000;

/// `condaplay lab images ...`
#[derive(Debug, clap::Args)]
pub struct ImagesArgs {
    #[command(subcommand)]
    pub command: ImagesCommand,
}

#[derive(Debug, clap::Subcommand)]
pub enum ImagesCommand {
    /// Build (or reuse from the cache) every lab image from Debian packages.
    Build,
    /// Run the registry mirror in the foreground (Ctrl-C stops it).
    Serve,
    /// Build if needed and start the registry mirror in the background.
    Start,
    /// Stop the background registry mirror.
    Stop,
    /// The images the mirror serves, and whether it runs.
    List,
}

#[derive(Debug, thiserror::Error)]
pub enum ImagesError {
    #[error("command failed ({status}): {cmd}\n{stderr}")]
    Command {
        cmd: String,
        status: String,
        stderr: String,
    },
    #[error("{path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("{path}: bad image store: {reason} (`condaplay lab images build` remakes it)")]
    Store { path: String, reason: String },
    #[error("no images built yet in {0}: run `condaplay lab images build`")]
    NotBuilt(String),
    #[error("registry mirror: {0}")]
    Registry(String),
    #[error(transparent)]
    Lab(Box<super::LabError>),
}

impl From<super::LabError> for ImagesError {
    fn from(e: super::LabError) -> Self {
        ImagesError::Lab(Box::new(e))
    }
}

pub(crate) fn io(path: &Path, e: std::io::Error) -> ImagesError {
    ImagesError::Io {
        path: path.display().to_string(),
        source: e,
    }
}

/// The image store (`CONDAPLAY_IMAGES_DIR` or the default).
#[derive(Debug, Clone)]
pub struct Store {
    pub dir: PathBuf,
}

impl Store {
    pub fn from_env() -> Store {
        let dir = std::env::var_os("CONDAPLAY_IMAGES_DIR")
            .filter(|v| !v.is_empty())
            .map(PathBuf::from);
        Store {
            dir: dir.unwrap_or_else(|| PathBuf::from(DEFAULT_STORE)),
        }
    }
    pub fn index(&self) -> PathBuf {
        self.dir.join("index.json")
    }
    pub fn blobs(&self) -> PathBuf {
        self.dir.join("blobs").join("sha256")
    }
    pub fn blob(&self, hex: &str) -> PathBuf {
        self.blobs().join(hex)
    }
    pub fn pid_file(&self) -> PathBuf {
        self.dir.join("registry.pid")
    }
    pub fn log_file(&self) -> PathBuf {
        self.dir.join("registry.log")
    }
}

/// The mirror URL lab servers' Docker is given.
pub fn mirror_url() -> String {
    format!("http://{}:{PORT}", super::net::gateway())
}

pub fn run(args: ImagesArgs, p: &Printer) -> Result<i32, ImagesError> {
    let store = Store::from_env();
    match args.command {
        ImagesCommand::Build => {
            build(&store, p)?;
        }
        ImagesCommand::Serve => serve(&store, p)?,
        ImagesCommand::Start => {
            p.line(&ensure_served(p)?);
        }
        ImagesCommand::Stop => {
            if stop(&store)? {
                p.info("registry mirror stopped");
            }
        }
        ImagesCommand::List => {
            let index = build::Index::load(&store)?;
            let mut text = String::new();
            for (repo, tags) in &index.repositories {
                for (tag, digest) in tags {
                    let shown = repo.strip_prefix("library/").unwrap_or(repo);
                    text.push_str(&format!("{shown}:{tag} {digest}\n"));
                }
            }
            text.push_str(&match status(&store) {
                Some(pid) => format!("registry mirror {} (pid {pid})\n", mirror_url()),
                None => "registry mirror not running\n".to_string(),
            });
            p.data(&text);
        }
    }
    Ok(0)
}

/// Builds the images when their recipes changed, starts the registry
/// mirror when it is not running, and returns its URL.
pub fn ensure_served(p: &Printer) -> Result<String, ImagesError> {
    let store = Store::from_env();
    build(&store, p)?;
    start(&store, p)?;
    Ok(mirror_url())
}

/// Stops the registry mirror if it runs (called by `lab down` when the last server goes).
pub fn stop_registry() -> Result<(), ImagesError> {
    stop(&Store::from_env()).map(|_| ())
}
