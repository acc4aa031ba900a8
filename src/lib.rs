//! condaplay: an agentless playbook engine with Ansible's syntax.
//!
//! The binary is a thin shell around [`cli::main`]; every concern lives in its
//! own module and none of them prints: user-facing output goes through
//! [`output::Printer`].

pub mod cli;
pub mod connection;
pub mod exec;
pub mod inventory;
pub mod lab;
pub mod modules;
pub mod output;
pub mod playbook;
pub mod template;
pub mod trust;
pub mod vault;
pub mod yaml;
