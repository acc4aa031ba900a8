//! The one error type of the inventory module.

use std::path::PathBuf;

/// Everything that can go wrong while reading an inventory or answering a
/// question about it. The CLI maps every variant to exit code 4.
#[derive(Debug, thiserror::Error)]
pub enum InventoryError {
    /// A malformed inventory or vars file; `loc` is `file:line` or `file:line:col`.
    #[error("{loc}: {msg}")]
    Parse { loc: String, msg: String },
    #[error(transparent)]
    Yaml(#[from] crate::yaml::YamlError),
    #[error("{path}: cannot read: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    /// A source that is neither a file, a directory nor a host list.
    #[error(
        "inventory source {0}: no such file or directory (expected a file, a directory or a comma-separated host list such as 'h1,h2,')"
    )]
    NoSource(String),
    #[error("encrypted vars file {} needs the vault identity", .0.display())]
    Encrypted(PathBuf),
    #[error("{}: cannot decrypt: {msg}", path.display())]
    Decrypt { path: PathBuf, msg: String },
    /// A host pattern that cannot be used (bad regex, index out of range).
    #[error("{0}")]
    Pattern(String),
    /// A question the inventory cannot answer (`--host` of an unknown host ...).
    #[error("{0}")]
    Usage(String),
}

impl InventoryError {
    pub(crate) fn at(
        file: &std::path::Path,
        line: usize,
        msg: impl Into<String>,
    ) -> InventoryError {
        let loc = if line == 0 {
            file.display().to_string()
        } else {
            format!("{}:{line}", file.display())
        };
        InventoryError::Parse {
            loc,
            msg: msg.into(),
        }
    }

    pub(crate) fn at_loc(loc: &crate::yaml::Loc, msg: impl Into<String>) -> InventoryError {
        InventoryError::Parse {
            loc: loc.to_string(),
            msg: msg.into(),
        }
    }
}
