//! `condaplay vault`: secrets kept in the repository as standard age files.
//!
//! All cryptography is the `age` crate's; this module only finds keys, moves
//! bytes between files and the editor, and keeps plaintext off disk and out of
//! core dumps. Files are ASCII-armored so they diff and merge as text.

mod cli;
mod crypt;
mod dotenv;
mod edit;
mod error;
mod fsutil;
mod harden;
mod identity;
mod recipients;
mod scratch;
mod signals;
mod vars;

pub use cli::{VaultArgs, VaultCommand, run};
pub use crypt::{decrypt_bytes, encrypt_bytes};
pub use dotenv::parse_dotenv;
pub use error::VaultError;
pub use harden::harden_process;
pub use identity::{Identities, default_identity_path, find_identity};
pub use recipients::{RecipientEntry, read_recipients, recipients_path};
pub use vars::{load_vars_file, load_vars_with};
