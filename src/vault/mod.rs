//! `condaplay vault`: Debian servers in systemd-nspawn containers (being written).

#[derive(Debug, clap::Args)]
pub struct VaultArgs {}

#[derive(Debug, thiserror::Error)]
pub enum VaultError {}

pub fn run(_args: VaultArgs, _p: &crate::output::Printer) -> Result<i32, VaultError> {
    Ok(0)
}

/// Decrypts a vars file in memory (being written).
pub fn load_vars_file(
    path: &std::path::Path,
    _identity: Option<&std::path::Path>,
) -> Result<(serde_json::Map<String, serde_json::Value>, Vec<String>), VaultError> {
    let _ = path;
    Ok((serde_json::Map::new(), Vec::new()))
}
