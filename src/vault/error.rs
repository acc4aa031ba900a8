use std::path::PathBuf;

/// Everything that can go wrong in the vault. Messages name the file (and line
/// where there is one) and say what to do; they never contain plaintext.
#[derive(Debug, thiserror::Error)]
pub enum VaultError {
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },

    #[error(
        "{}: no recipients file; run `condaplay vault init` to create one \
         (or point --recipients / CONDAPLAY_RECIPIENTS at an existing file)",
        path.display()
    )]
    NoRecipientsFile { path: PathBuf },

    #[error("{}: lists no recipients; add one with `condaplay vault recipients add KEY`", path.display())]
    NoRecipients { path: PathBuf },

    #[error("{}:{line}: {msg}", path.display())]
    BadRecipient {
        path: PathBuf,
        line: usize,
        msg: String,
    },

    #[error("not a recipient: {0}")]
    BadRecipientArg(String),

    #[error(
        "no identity found (looked for --identity, $CONDAPLAY_IDENTITY, {searched}); \
         run `condaplay vault init` to create one"
    )]
    NoIdentity { searched: String },

    #[error("{}: identity not usable: {msg}", path.display())]
    Identity { path: PathBuf, msg: String },

    #[error(
        "{}: no identity matches: the file is encrypted to {stanzas}; \
         our identity {} has public key {ours}",
        file.display(),
        identity.display()
    )]
    NoMatch {
        file: PathBuf,
        stanzas: String,
        identity: PathBuf,
        ours: String,
    },

    #[error("{}: cannot decrypt: {msg}; nothing was written", file.display())]
    Decrypt { file: PathBuf, msg: String },

    #[error("{}: cannot encrypt: {msg}", file.display())]
    Encrypt { file: PathBuf, msg: String },

    #[error("{}:{line}: {msg}", file.display())]
    Dotenv {
        file: PathBuf,
        line: usize,
        msg: String,
    },

    #[error(transparent)]
    Yaml(#[from] crate::yaml::YamlError),

    #[error("{}: {msg}", file.display())]
    Vars { file: PathBuf, msg: String },

    #[error("{msg}; edit aborted, nothing written")]
    Invalid { file: PathBuf, msg: String },

    #[error("editor: {0}; nothing written")]
    Editor(String),

    #[error("{}: already exists; {hint}", path.display())]
    Exists { path: PathBuf, hint: &'static str },

    #[error("{}: {msg}", path.display())]
    BadPath { path: PathBuf, msg: &'static str },

    #[error("interrupted by {0}; the plaintext was removed and nothing written")]
    Interrupted(&'static str),
}

impl VaultError {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> VaultError {
        VaultError::Io {
            path: path.into(),
            source,
        }
    }
}
