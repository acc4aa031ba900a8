//! `condaplay vault ...`: the subcommands, each a few calls into the module.

use std::path::{Path, PathBuf};

use clap::Subcommand;
use zeroize::Zeroizing;

use super::edit::{self, EditOutcome};
use super::identity::{self, Identities};
use super::recipients::{self, RecipientEntry};
use super::signals::{self, SignalGuard};
use super::vars::inner_path;
use super::{VaultError, crypt, fsutil, harden_process};
use crate::output::Printer;

#[derive(Debug, clap::Args)]
pub struct VaultArgs {
    #[command(subcommand)]
    pub command: VaultCommand,
    /// Identity (private key) file; `init` creates it if missing [default: $CONDAPLAY_IDENTITY,
    /// ~/.config/condaplay/identity.txt, ~/.ssh/id_ed25519].
    #[arg(long, global = true, value_name = "PATH")]
    pub identity: Option<PathBuf>,
    /// Recipients file [default: $CONDAPLAY_RECIPIENTS, vault/recipients.txt].
    #[arg(long, global = true, value_name = "PATH")]
    pub recipients: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum VaultCommand {
    /// Create an identity if there is none, and add its public key to the recipients file.
    Init,
    /// Encrypt FILE to FILE.age for the current recipients, then remove FILE.
    Encrypt {
        #[arg(required = true, value_name = "FILE")]
        files: Vec<PathBuf>,
        /// Overwrite an existing FILE.age.
        #[arg(long)]
        force: bool,
    },
    /// Decrypt FILE.age to FILE beside it (mode 0600).
    Decrypt {
        #[arg(required = true, value_name = "FILE.age")]
        files: Vec<PathBuf>,
        /// Overwrite an existing plaintext file.
        #[arg(long)]
        force: bool,
    },
    /// Print the plaintext of FILE.age (also a git textconv driver).
    View {
        #[arg(value_name = "FILE.age")]
        file: PathBuf,
    },
    /// Create FILE.age with $VISUAL/$EDITOR.
    Create {
        #[arg(value_name = "FILE.age")]
        file: PathBuf,
    },
    /// Edit FILE.age with $VISUAL/$EDITOR; re-encrypts only if the content changed.
    Edit {
        #[arg(value_name = "FILE.age")]
        file: PathBuf,
    },
    /// Re-encrypt FILE.age for the current recipients (after adding or removing one).
    Rekey {
        #[arg(required = true, value_name = "FILE.age")]
        files: Vec<PathBuf>,
    },
    /// Show or change the recipients file.
    Recipients {
        #[command(subcommand)]
        command: RecipientsCommand,
    },
}

#[derive(Debug, Subcommand)]
pub enum RecipientsCommand {
    /// Add public keys: age1..., ssh-ed25519/ssh-rsa lines, or files of them (e.g. id_ed25519.pub).
    Add {
        #[arg(required = true, value_name = "KEY|FILE")]
        keys: Vec<String>,
    },
    /// List the recipients, one per line.
    List,
}

pub fn run(args: VaultArgs, p: &Printer) -> Result<i32, VaultError> {
    harden_process();
    match dispatch(args, p) {
        Err(e @ VaultError::Interrupted(_)) => {
            p.error(&e.to_string());
            Ok(crate::cli::exit::INTERRUPTED)
        }
        other => other,
    }
}

fn dispatch(args: VaultArgs, p: &Printer) -> Result<i32, VaultError> {
    let recipients_file = recipients::recipients_path(args.recipients.as_deref());
    let id_flag = args.identity.as_deref();
    match args.command {
        VaultCommand::Init => init(id_flag, &recipients_file, p)?,
        VaultCommand::Encrypt { files, force } => {
            let rcpts = recipients::read_recipients(&recipients_file)?;
            for f in &files {
                encrypt(f, &rcpts, force, p)?;
            }
        }
        VaultCommand::Decrypt { files, force } => {
            let ids = load_identity(id_flag)?;
            // Ctrl-C waits for the file being written: a temporary file of
            // plaintext must not be left behind half-renamed.
            let signals = SignalGuard::install();
            for f in &files {
                if let Some(sig) = signals.take() {
                    return Err(VaultError::Interrupted(signals::name(sig)));
                }
                decrypt(f, &ids, force, p)?;
            }
        }
        VaultCommand::View { file } => {
            let ids = load_identity(id_flag)?;
            let plain = decrypt_file(&file, &ids)?;
            p.data(&String::from_utf8_lossy(&plain));
        }
        VaultCommand::Create { file } => {
            require_age_name(&file)?;
            if file.exists() {
                return Err(VaultError::Exists {
                    path: file,
                    hint: "use `condaplay vault edit`",
                });
            }
            let rcpts = recipients::read_recipients(&recipients_file)?;
            match edit::edit(&file, b"", &rcpts, p)? {
                EditOutcome::Written => p.info(&format!("created {}", file.display())),
                EditOutcome::Unchanged => p.info(&format!("empty; {} not created", file.display())),
            }
        }
        VaultCommand::Edit { file } => {
            let rcpts = recipients::read_recipients(&recipients_file)?;
            let ids = load_identity(id_flag)?;
            let plain = decrypt_file(&file, &ids)?;
            match edit::edit(&file, &plain, &rcpts, p)? {
                EditOutcome::Written => p.info(&format!("saved {}", file.display())),
                EditOutcome::Unchanged => {
                    p.info(&format!("no changes; {} untouched", file.display()))
                }
            }
        }
        VaultCommand::Rekey { files } => {
            let rcpts = recipients::read_recipients(&recipients_file)?;
            let ids = load_identity(id_flag)?;
            for f in &files {
                let plain = decrypt_file(f, &ids)?;
                let ct = crypt::encrypt_bytes(&plain, &rcpts, f)?;
                fsutil::write_atomic(f, &ct, fsutil::existing_mode(f).unwrap_or(0o644))?;
                p.info(&format!(
                    "rekeyed {} for {} recipient(s)",
                    f.display(),
                    rcpts.len()
                ));
            }
        }
        VaultCommand::Recipients {
            command: RecipientsCommand::List,
        } => {
            for r in recipients::read_recipients(&recipients_file)? {
                p.data(&r.text);
            }
        }
        VaultCommand::Recipients {
            command: RecipientsCommand::Add { keys },
        } => {
            let mut entries = Vec::new();
            for k in &keys {
                entries.extend(recipients::recipients_from_arg(k)?);
            }
            report_added(&recipients_file, &entries, true, p)?;
        }
    }
    Ok(crate::cli::exit::OK)
}

fn load_identity(flag: Option<&Path>) -> Result<Identities, VaultError> {
    Identities::load(&identity::find_identity(flag)?)
}

fn decrypt_file(file: &Path, ids: &Identities) -> Result<Zeroizing<Vec<u8>>, VaultError> {
    let ct = fsutil::read(file)?;
    crypt::decrypt_bytes(&ct, ids, file)
}

fn require_age_name(file: &Path) -> Result<(), VaultError> {
    if inner_path(file) == file {
        return Err(VaultError::BadPath {
            path: file.to_path_buf(),
            msg: "expected a file name ending in .age",
        });
    }
    Ok(())
}

fn encrypt(
    file: &Path,
    rcpts: &[RecipientEntry],
    force: bool,
    p: &Printer,
) -> Result<(), VaultError> {
    if file.extension().is_some_and(|e| e == "age") {
        return Err(VaultError::BadPath {
            path: file.to_path_buf(),
            msg: "already a .age file",
        });
    }
    let mut target = file.as_os_str().to_owned();
    target.push(".age");
    let target = PathBuf::from(target);
    if target.exists() && !force {
        return Err(VaultError::Exists {
            path: target,
            hint: "use `condaplay vault edit`, or --force to replace it",
        });
    }
    let plain = Zeroizing::new(fsutil::read(file)?);
    let ct = crypt::encrypt_bytes(&plain, rcpts, &target)?;
    fsutil::write_atomic(
        &target,
        &ct,
        fsutil::existing_mode(&target).unwrap_or(0o644),
    )?;
    std::fs::remove_file(file).map_err(|e| VaultError::io(file, e))?;
    p.info(&format!(
        "encrypted {} -> {} for {} recipient(s); removed the plaintext",
        file.display(),
        target.display(),
        rcpts.len()
    ));
    Ok(())
}

fn decrypt(file: &Path, ids: &Identities, force: bool, p: &Printer) -> Result<(), VaultError> {
    require_age_name(file)?;
    let out = inner_path(file);
    if out.exists() && !force {
        return Err(VaultError::Exists {
            path: out,
            hint: "remove it or pass --force",
        });
    }
    let plain = decrypt_file(file, ids)?;
    fsutil::write_atomic(&out, &plain, 0o600)?;
    p.info(&format!(
        "decrypted {} -> {}",
        file.display(),
        out.display()
    ));
    Ok(())
}

fn init(flag: Option<&Path>, recipients_file: &Path, p: &Printer) -> Result<(), VaultError> {
    let path = match identity::find_identity(flag) {
        Ok(path) => {
            p.info(&format!("identity: {} (existing)", path.display()));
            path
        }
        Err(VaultError::NoIdentity { .. }) => create_default(p)?,
        // An explicitly named identity that does not exist yet is created there.
        Err(VaultError::Io { path, source }) if source.kind() == std::io::ErrorKind::NotFound => {
            identity::create_identity(&path)?;
            p.info(&format!(
                "identity: {} (created, mode 0600; back it up)",
                path.display()
            ));
            path
        }
        Err(e) => return Err(e),
    };
    let keys = identity::public_keys_of(&path).map_err(|msg| VaultError::Identity {
        path: path.clone(),
        msg: format!("{msg}; add its public key with `condaplay vault recipients add KEY`"),
    })?;
    let entries = keys
        .iter()
        .map(|k| recipients::parse_recipient(k))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|msg| VaultError::Identity {
            path: path.clone(),
            msg,
        })?;
    report_added(recipients_file, &entries, false, p)
}

fn create_default(p: &Printer) -> Result<PathBuf, VaultError> {
    let path = identity::default_identity_path().ok_or(VaultError::NoIdentity {
        searched: "$HOME is not set; pass --identity PATH".into(),
    })?;
    identity::create_identity(&path)?;
    p.info(&format!(
        "identity: {} (created, mode 0600; back it up)",
        path.display()
    ));
    Ok(path)
}

fn report_added(
    recipients_file: &Path,
    entries: &[RecipientEntry],
    rekey_hint: bool,
    p: &Printer,
) -> Result<(), VaultError> {
    let added = recipients::add_recipients(recipients_file, entries)?;
    for (e, new) in entries.iter().zip(&added) {
        let what = if *new { "added to" } else { "already in" };
        p.info(&format!(
            "{} {what} {}",
            e.key_id(),
            recipients_file.display()
        ));
    }
    if rekey_hint && added.iter().any(|a| *a) {
        p.info(
            "re-encrypt existing files for the new list with `condaplay vault rekey FILE.age...`",
        );
    }
    Ok(())
}
