//! Playbooks, plays, tasks, blocks and roles in Ansible's syntax, parsed and
//! validated completely before anything connects to a host.

mod keywords;
mod play;
mod role;
mod task;

pub use play::{Play, Serial};
pub use role::Role;
pub use task::{Action, Block, Common, Include, LoopSpec, Node, Task, Templated};

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::yaml::{self, Loc, Node as Y};

#[derive(Debug, thiserror::Error)]
pub enum PlaybookError {
    #[error(transparent)]
    Yaml(#[from] yaml::YamlError),
    #[error("{loc}: {msg}")]
    Invalid { loc: Loc, msg: String },
}

pub(crate) fn invalid(loc: &Loc, msg: impl Into<String>) -> PlaybookError {
    PlaybookError::Invalid {
        loc: loc.clone(),
        msg: msg.into(),
    }
}

pub struct Playbook {
    pub path: PathBuf,
    /// The playbook's directory: roles/, group_vars/, files/ are found here.
    pub dir: PathBuf,
    pub plays: Vec<Play>,
}

impl Playbook {
    pub fn load(path: &Path) -> Result<Playbook, PlaybookError> {
        let path = path.to_path_buf();
        let dir = path
            .parent()
            .map(Path::to_path_buf)
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or_else(|| PathBuf::from("."));
        let dir = std::fs::canonicalize(&dir).unwrap_or(dir);
        let root = yaml::parse_file(&path)?;
        let mut plays = Vec::new();
        let ctx = play::LoadCtx {
            dir: Arc::new(dir.clone()),
        };
        load_into(&root, &ctx, &mut plays, 0)?;
        Ok(Playbook { path, dir, plays })
    }

    /// A playbook from text; `path` names it in errors and anchors relative
    /// files (roles, includes) at its directory.
    pub fn from_str(text: &str, path: &Path) -> Result<Playbook, PlaybookError> {
        let dir = path
            .parent()
            .map(Path::to_path_buf)
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or_else(|| PathBuf::from("."));
        let root = yaml::parse_str(text, path)?;
        let mut plays = Vec::new();
        let ctx = play::LoadCtx {
            dir: Arc::new(dir.clone()),
        };
        load_into(&root, &ctx, &mut plays, 0)?;
        Ok(Playbook {
            path: path.to_path_buf(),
            dir,
            plays,
        })
    }

    /// Every task and handler, for `condaplay check` summaries.
    pub fn task_count(&self) -> usize {
        self.plays.iter().map(Play::task_count).sum()
    }
}

fn load_into(
    root: &Y,
    ctx: &play::LoadCtx,
    plays: &mut Vec<Play>,
    depth: usize,
) -> Result<(), PlaybookError> {
    let items = match &root.kind {
        yaml::Kind::Seq(items) => items,
        yaml::Kind::Null => {
            return Err(invalid(
                &root.loc,
                "the playbook is empty; expected a list of plays",
            ));
        }
        _ => {
            return Err(invalid(
                &root.loc,
                format!(
                    "a playbook must be a list of plays, found {}",
                    root.type_name()
                ),
            ));
        }
    };
    for item in items {
        if let Some(target) = item
            .get("import_playbook")
            .or_else(|| item.get("ansible.builtin.import_playbook"))
        {
            if depth > 20 {
                return Err(invalid(
                    &item.loc,
                    "import_playbook nests too deeply (a cycle?)",
                ));
            }
            let name = target
                .as_str()
                .ok_or_else(|| invalid(&target.loc, "import_playbook expects a file name"))?;
            let file = ctx.dir.join(name);
            let sub = yaml::parse_file(&file)?;
            let sub_ctx = play::LoadCtx {
                dir: Arc::new(
                    file.parent()
                        .map_or_else(|| ctx.dir.to_path_buf(), Path::to_path_buf),
                ),
            };
            load_into(&sub, &sub_ctx, plays, depth + 1)?;
            continue;
        }
        plays.push(Play::parse(item, ctx)?);
    }
    Ok(())
}
