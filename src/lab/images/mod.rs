//! Container images for lab servers without a registry (being written).

/// `condaplay lab images ...`
#[derive(Debug, clap::Args)]
pub struct ImagesArgs {}

#[derive(Debug, thiserror::Error)]
pub enum ImagesError {}

pub fn run(_args: ImagesArgs, _p: &crate::output::Printer) -> Result<i32, ImagesError> {
    Ok(0)
}

/// Stops the registry mirror if it runs (called by `lab down` when the last server goes).
pub fn stop_registry() -> Result<(), ImagesError> {
    Ok(())
}
