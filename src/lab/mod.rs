//! `condaplay lab`: Debian servers in systemd-nspawn containers (being written).

pub mod images;

#[derive(Debug, clap::Args)]
pub struct LabArgs {}

#[derive(Debug, thiserror::Error)]
pub enum LabError {
    #[error(transparent)]
    Images(#[from] images::ImagesError),
}

pub fn run(_args: LabArgs, _p: &crate::output::Printer) -> Result<i32, LabError> {
    Ok(0)
}
