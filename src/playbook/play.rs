//! A play: which hosts, which variables, which tasks, and how to roll.

use std::path::PathBuf;
use std::sync::Arc;

use serde_json::{Map, Value};

use super::keywords;
use super::role::{self, Role};
use super::task::{Common, Node, TaskCtx, conditions, mapping, parse_list, scalar, string_list};
use super::{PlaybookError, invalid};
use crate::yaml::{Kind, Loc, Node as Y};

pub struct LoadCtx {
    pub dir: Arc<PathBuf>,
}

/// `serial:`: batch sizes, the last one repeating.
#[derive(Clone, Debug, PartialEq)]
pub enum Serial {
    Count(usize),
    Percent(f64),
    /// A template (`"{{ upgrade_batch }}"`), rendered with the play's and the
    /// extra variables when the play starts.
    Template(String),
}

impl Serial {
    /// A count or a percentage from text (a YAML string or a rendered template).
    pub fn parse_text(s: &str) -> Result<Serial, String> {
        let t = s.trim();
        if let Some(p) = t.strip_suffix('%') {
            return p
                .trim()
                .parse::<f64>()
                .map(Serial::Percent)
                .map_err(|_| format!("serial: {s:?} is not a percentage"));
        }
        match t.parse::<usize>() {
            Ok(n) if n > 0 => Ok(Serial::Count(n)),
            _ => Err(format!("serial: {s:?} is not a positive number")),
        }
    }
}

pub struct Play {
    pub name: String,
    pub loc: Loc,
    pub hosts: String,
    pub dir: Arc<PathBuf>,
    pub vars: Map<String, Value>,
    pub vars_files: Vec<(String, Loc)>,
    pub gather_facts: bool,
    /// Play-level keywords, already inherited into every task.
    pub common: Common,
    pub roles: Vec<Arc<Role>>,
    /// pre_tasks; roles then tasks; post_tasks. Handlers flush after each.
    pub sections: [Vec<Node>; 3],
    pub handlers: Vec<Node>,
    pub serial: Vec<Serial>,
    pub order: String,
    pub max_fail_percentage: Option<f64>,
    pub any_errors_fatal: bool,
    pub force_handlers: bool,
}

impl Play {
    pub fn task_count(&self) -> usize {
        self.sections
            .iter()
            .flatten()
            .chain(&self.handlers)
            .map(Node::count)
            .sum()
    }

    pub fn parse(item: &Y, ctx: &LoadCtx) -> Result<Play, PlaybookError> {
        let map = item.as_map().ok_or_else(|| {
            invalid(
                &item.loc,
                format!("a play must be a mapping, found {}", item.type_name()),
            )
        })?;
        for (k, _) in map {
            if !keywords::PLAY.contains(&k.name.as_str()) {
                let hint = if crate::modules::is_module(&k.name) {
                    " (a module belongs in a task under `tasks:`)"
                } else {
                    ""
                };
                return Err(invalid(
                    &k.loc,
                    format!("{:?} is not a valid play keyword{hint}", k.name),
                ));
            }
        }
        if let Some(v) = item.get("vars_prompt") {
            return Err(invalid(
                &v.loc,
                "vars_prompt is not supported: pass values with -e or the vault",
            ));
        }
        let hosts = match item.get("hosts") {
            Some(h) => match &h.kind {
                Kind::Seq(_) => string_list(h)?.join(":"),
                _ => scalar(h, "hosts")?,
            },
            None => return Err(invalid(&item.loc, "a play needs `hosts:`")),
        };
        let name = item
            .get("name")
            .map(|n| scalar(n, "name"))
            .transpose()?
            .unwrap_or_else(|| hosts.clone());
        let common = Common::parse(item, keywords::PLAY, "play")?;
        let vars = item
            .get("vars")
            .map(|v| mapping(v, "vars"))
            .transpose()?
            .unwrap_or_default();
        let vars_files = match item.get("vars_files") {
            Some(v) => match &v.kind {
                Kind::Seq(items) => items
                    .iter()
                    .map(|i| Ok((scalar(i, "vars_files entry")?, i.loc.clone())))
                    .collect::<Result<_, PlaybookError>>()?,
                Kind::Str(s) => vec![(s.clone(), v.loc.clone())],
                _ => return Err(invalid(&v.loc, "vars_files must be a list of file names")),
            },
            None => Vec::new(),
        };
        let gather_facts = match item.get("gather_facts") {
            Some(v) => crate::modules::to_bool(&v.to_json())
                .ok_or_else(|| invalid(&v.loc, "gather_facts must be a boolean"))?,
            None => true,
        };
        let mut handlers = Vec::new();
        let mut roles = Vec::new();
        let mut tctx = TaskCtx {
            dir: ctx.dir.to_path_buf(),
            play_dir: ctx.dir.clone(),
            role: None,
            handlers: &mut handlers,
            roles: &mut roles,
            depth: 0,
        };
        let section = |name: &str, tctx: &mut TaskCtx| -> Result<Vec<Node>, PlaybookError> {
            match item.get(name) {
                Some(list) => parse_list(list, tctx, &common),
                None => Ok(Vec::new()),
            }
        };
        let pre = section("pre_tasks", &mut tctx)?;
        let mut main = Vec::new();
        if let Some(list) = item.get("roles") {
            let entries = list
                .as_seq()
                .ok_or_else(|| invalid(&list.loc, "roles must be a list"))?;
            for entry in entries {
                let (name, params, loc) = role::role_entry(entry)?;
                let mut rc = Common::parse(entry, keywords::INCLUDE, "role")?;
                if let Some(w) = entry.get("when") {
                    rc.when = conditions(w)?;
                }
                rc.inherit(&common);
                main.extend(role::expand_dedupe(&name, &loc, params, &mut tctx, &rc)?);
            }
        }
        main.extend(section("tasks", &mut tctx)?);
        let post = section("post_tasks", &mut tctx)?;
        if let Some(list) = item.get("handlers") {
            let parsed = parse_list(list, &mut tctx, &common)?;
            tctx.handlers.extend(parsed);
        }
        drop(tctx);
        let serial = match item.get("serial") {
            None => Vec::new(),
            Some(v) => match &v.kind {
                Kind::Seq(items) => items.iter().map(parse_serial).collect::<Result<_, _>>()?,
                _ => vec![parse_serial(v)?],
            },
        };
        let max_fail_percentage = match item.get("max_fail_percentage") {
            None => None,
            Some(v) => Some(match &v.kind {
                Kind::Int(i) => *i as f64,
                Kind::Float(f) => *f,
                Kind::Str(s) => s
                    .trim_end_matches('%')
                    .trim()
                    .parse()
                    .map_err(|_| invalid(&v.loc, "max_fail_percentage must be a number"))?,
                _ => return Err(invalid(&v.loc, "max_fail_percentage must be a number")),
            }),
        };
        let flag = |name: &str| -> Result<bool, PlaybookError> {
            match item.get(name) {
                Some(v) => crate::modules::to_bool(&v.to_json())
                    .ok_or_else(|| invalid(&v.loc, format!("{name} must be a boolean"))),
                None => Ok(false),
            }
        };
        let order = item
            .get("order")
            .map(|o| scalar(o, "order"))
            .transpose()?
            .unwrap_or_else(|| "inventory".into());
        if ![
            "inventory",
            "reverse_inventory",
            "sorted",
            "reverse_sorted",
            "shuffle",
        ]
        .contains(&order.as_str())
        {
            return Err(invalid(
                &item.get("order").expect("present").loc,
                format!(
                    "order: {order:?} is not one of inventory, reverse_inventory, sorted, reverse_sorted, shuffle"
                ),
            ));
        }
        Ok(Play {
            name,
            loc: item.loc.clone(),
            hosts,
            dir: ctx.dir.clone(),
            vars,
            vars_files,
            gather_facts,
            any_errors_fatal: flag("any_errors_fatal")?,
            force_handlers: flag("force_handlers")?,
            common,
            roles,
            sections: [pre, main, post],
            handlers,
            serial,
            order,
            max_fail_percentage,
        })
    }
}

fn parse_serial(v: &Y) -> Result<Serial, PlaybookError> {
    match &v.kind {
        Kind::Int(i) if *i > 0 => Ok(Serial::Count(*i as usize)),
        Kind::Str(s) if s.contains("{{") => Ok(Serial::Template(s.clone())),
        Kind::Str(s) => Serial::parse_text(s).map_err(|m| invalid(&v.loc, m)),
        _ => Err(invalid(
            &v.loc,
            "serial must be a number, a percentage or a list of them",
        )),
    }
}
