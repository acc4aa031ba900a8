//! `condaplay vault`: Debian servers in systemd-nspawn containers (being written).

#[derive(Debug, clap::Args)]
pub struct VaultArgs {}

#[derive(Debug, thiserror::Error)]
pub enum VaultError {}

pub fn run(_args: VaultArgs, _p: &crate::output::Printer) -> Result<i32, VaultError> {
    Ok(0)
}
