//! Ansible inventories (being written).

#[derive(Debug, clap::Args)]
pub struct InventoryArgs {}

#[derive(Debug, thiserror::Error)]
pub enum InventoryError {}

pub fn run(_args: InventoryArgs, _p: &crate::output::Printer) -> Result<i32, InventoryError> {
    Ok(0)
}
