//! Tasks and blocks: parsed from YAML, keywords checked, block keywords
//! inherited into the tasks they hold.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde_json::{Map, Value};

use super::keywords;
use super::role::{self, Role};
use super::{PlaybookError, invalid};
use crate::modules::{self, Module};
use crate::yaml::{self, Kind, Loc, Node as Y};

/// Keywords that blocks pass down to their tasks.
#[derive(Clone, Debug, Default)]
pub struct Common {
    /// All must hold (a list in YAML is an AND; block conditions come first).
    pub when: Vec<String>,
    pub tags: Vec<String>,
    pub become_: Option<Value>,
    pub become_user: Option<String>,
    pub vars: Map<String, Value>,
    pub environment: Vec<Value>,
    pub no_log: Option<Value>,
    pub check_mode: Option<Value>,
    pub diff: Option<Value>,
    pub ignore_errors: Option<Value>,
    pub ignore_unreachable: Option<Value>,
    pub delegate_to: Option<String>,
    pub run_once: Option<Value>,
    pub any_errors_fatal: Option<Value>,
}

impl Common {
    /// `self` (the child) completed with what its parent block says.
    pub fn inherit(&mut self, parent: &Common) {
        let mut when = parent.when.clone();
        when.append(&mut self.when);
        self.when = when;
        for t in &parent.tags {
            if !self.tags.contains(t) {
                self.tags.push(t.clone());
            }
        }
        let mut vars = parent.vars.clone();
        vars.extend(std::mem::take(&mut self.vars));
        self.vars = vars;
        let mut env = parent.environment.clone();
        env.append(&mut self.environment);
        self.environment = env;
        macro_rules! fallback {
            ($($f:ident),*) => { $( if self.$f.is_none() { self.$f = parent.$f.clone(); } )* };
        }
        fallback!(
            become_,
            become_user,
            no_log,
            check_mode,
            diff,
            ignore_errors,
            ignore_unreachable,
            delegate_to,
            run_once,
            any_errors_fatal
        );
    }

    pub(super) fn parse(map: &Y, allowed: &[&str], what: &str) -> Result<Common, PlaybookError> {
        let mut c = Common::default();
        for (k, v) in map.as_map().unwrap_or_default() {
            if !allowed.contains(&k.name.as_str()) {
                continue;
            }
            match k.name.as_str() {
                "when" => c.when = conditions(v)?,
                "tags" => c.tags = string_list(v)?,
                "become" => c.become_ = Some(v.to_json()),
                "become_user" => c.become_user = Some(scalar(v, "become_user")?),
                "vars" => c.vars = mapping(v, "vars")?,
                "environment" => c.environment.push(v.to_json()),
                "no_log" => c.no_log = Some(v.to_json()),
                "check_mode" => c.check_mode = Some(v.to_json()),
                "diff" => c.diff = Some(v.to_json()),
                "ignore_errors" => c.ignore_errors = Some(v.to_json()),
                "ignore_unreachable" => c.ignore_unreachable = Some(v.to_json()),
                "delegate_to" => c.delegate_to = Some(scalar(v, "delegate_to")?),
                "run_once" => c.run_once = Some(v.to_json()),
                "any_errors_fatal" => c.any_errors_fatal = Some(v.to_json()),
                _ => {}
            }
        }
        let _ = what;
        Ok(c)
    }
}

/// `meta:` is executor business, but a module as far as task parsing goes.
struct MetaModule;
static META_SPEC: modules::Spec = modules::Spec::new(&[]).free_form(modules::FreeForm::Whole);
impl Module for MetaModule {
    fn name(&self) -> &'static str {
        "meta"
    }
    fn spec(&self) -> &'static modules::Spec {
        &META_SPEC
    }
    fn plan(
        &self,
        _: &modules::Args,
        _: &modules::PlanCtx,
    ) -> Result<modules::Plan, modules::ModuleError> {
        Ok(modules::Plan::Done(modules::Outcome::ok()))
    }
}
const META: &dyn Module = &MetaModule;

/// What a task does.
#[derive(Clone)]
pub enum Action {
    Module {
        module: &'static dyn Module,
        args: Map<String, Value>,
    },
    /// `meta: flush_handlers` and friends, handled by the executor.
    Meta(String),
    /// `include_tasks` or `include_role` with a loop (see [`Include`]).
    Include(&'static str),
}

#[derive(Clone, Debug)]
pub struct LoopSpec {
    /// A list, or a template that renders to one.
    pub items: Value,
    /// `with_dict`: items become `{key, value}`.
    pub dict: bool,
    /// `with_items` flattens one level.
    pub flatten: bool,
    pub loop_var: String,
    pub index_var: Option<String>,
    pub label: Option<String>,
}

#[derive(Clone)]
pub struct Task {
    pub name: Option<String>,
    pub loc: Loc,
    pub action: Action,
    pub common: Common,
    pub loop_: Option<LoopSpec>,
    pub register: Option<String>,
    pub notify: Vec<String>,
    /// Handler topics (`listen:`).
    pub listen: Vec<String>,
    pub changed_when: Option<Vec<String>>,
    pub failed_when: Option<Vec<String>>,
    pub until: Option<String>,
    pub retries: Templated<u32>,
    pub delay: Templated<u32>,
    pub role: Option<Arc<Role>>,
}

impl Task {
    pub fn module_name(&self) -> &str {
        match &self.action {
            Action::Module { module, .. } => module.name(),
            Action::Meta(_) => "meta",
            Action::Include(what) => what,
        }
    }

    /// The name shown in output: the task's name, or `module` like Ansible.
    pub fn display_name(&self) -> String {
        let base = self
            .name
            .clone()
            .unwrap_or_else(|| self.module_name().to_string());
        match &self.role {
            Some(r) => format!("{} : {base}", r.name),
            None => base,
        }
    }
}

#[derive(Clone)]
pub struct Block {
    pub name: Option<String>,
    pub loc: Loc,
    pub block: Vec<Node>,
    pub rescue: Vec<Node>,
    pub always: Vec<Node>,
}

/// `include_tasks`/`include_role` with a loop: the body runs once per item
/// (per host, its own items), with the loop variable set. Without a loop an
/// include is read in place like an import.
#[derive(Clone)]
pub struct Include {
    /// The include statement: name, keywords (`when` is checked per item),
    /// loop; never run as a task itself.
    pub task: Task,
    /// The file or role, for the `included:` lines.
    pub what: String,
    pub body: Vec<Node>,
}

#[derive(Clone)]
pub enum Node {
    Task(Box<Task>),
    Block(Box<Block>),
    Include(Box<Include>),
}

impl Node {
    pub fn count(&self) -> usize {
        match self {
            Node::Task(_) => 1,
            Node::Block(b) => b
                .block
                .iter()
                .chain(&b.rescue)
                .chain(&b.always)
                .map(Node::count)
                .sum(),
            Node::Include(i) => i.body.iter().map(Node::count).sum(),
        }
    }
}

/// Where a task list is being read: relative includes, the role it belongs
/// to, and where role handlers go.
pub struct TaskCtx<'a> {
    pub dir: PathBuf,
    pub play_dir: Arc<PathBuf>,
    pub role: Option<Arc<Role>>,
    pub handlers: &'a mut Vec<Node>,
    pub roles: &'a mut Vec<Arc<Role>>,
    pub depth: usize,
}

/// Parses a list of tasks (a `tasks:` section or an included file).
pub fn parse_list(
    list: &Y,
    ctx: &mut TaskCtx,
    parent: &Common,
) -> Result<Vec<Node>, PlaybookError> {
    let items = match &list.kind {
        Kind::Null => return Ok(Vec::new()),
        Kind::Seq(items) => items,
        _ => {
            return Err(invalid(
                &list.loc,
                format!("expected a list of tasks, found {}", list.type_name()),
            ));
        }
    };
    let mut out = Vec::new();
    for item in items {
        out.extend(parse_one(item, ctx, parent)?);
    }
    Ok(out)
}

fn parse_one(item: &Y, ctx: &mut TaskCtx, parent: &Common) -> Result<Vec<Node>, PlaybookError> {
    let Some(map) = item.as_map() else {
        return Err(invalid(
            &item.loc,
            format!("a task must be a mapping, found {}", item.type_name()),
        ));
    };
    if ctx.depth > 30 {
        return Err(invalid(&item.loc, "includes nest too deeply (a cycle?)"));
    }
    if item.get("block").is_some() {
        return parse_block(item, ctx, parent).map(|b| vec![b]);
    }
    for (k, _) in map {
        let short = k.name.rsplit('.').next().unwrap_or(&k.name);
        if matches!(short, "import_tasks" | "include_tasks" | "include") {
            return parse_include_tasks(item, &k.name, ctx, parent);
        }
        if matches!(short, "import_role" | "include_role") {
            return parse_include_role(item, &k.name, ctx, parent);
        }
    }
    parse_task(item, ctx, parent).map(|t| vec![Node::Task(Box::new(t))])
}

fn parse_block(item: &Y, ctx: &mut TaskCtx, parent: &Common) -> Result<Node, PlaybookError> {
    for (k, _) in item.as_map().unwrap_or_default() {
        if !keywords::BLOCK.contains(&k.name.as_str()) {
            return Err(invalid(
                &k.loc,
                format!(
                    "{:?} is not a valid keyword for a block (valid: block, rescue, always, when, ...)",
                    k.name
                ),
            ));
        }
    }
    let mut common = Common::parse(item, keywords::BLOCK, "block")?;
    common.inherit(parent);
    let section = |name: &str, ctx: &mut TaskCtx| -> Result<Vec<Node>, PlaybookError> {
        match item.get(name) {
            Some(list) => parse_list(list, ctx, &common),
            None => Ok(Vec::new()),
        }
    };
    let block = section("block", ctx)?;
    let rescue = section("rescue", ctx)?;
    let always = section("always", ctx)?;
    let name = item
        .get("name")
        .and_then(|n| n.as_str())
        .map(str::to_string);
    Ok(Node::Block(Box::new(Block {
        name,
        loc: item.loc.clone(),
        block,
        rescue,
        always,
    })))
}

fn parse_include_tasks(
    item: &Y,
    key: &str,
    ctx: &mut TaskCtx,
    parent: &Common,
) -> Result<Vec<Node>, PlaybookError> {
    check_keys(item, key, keywords::INCLUDE)?;
    let target = item.get(key).expect("key present");
    let file = match (&target.kind, target.get("file")) {
        (Kind::Str(s), _) => s.clone(),
        (_, Some(f)) => scalar(f, "file")?,
        _ => return Err(invalid(&target.loc, format!("{key} expects a file name"))),
    };
    if crate::template::Templar::is_template(&file) {
        return Err(invalid(
            &target.loc,
            format!("{key} with a templated file name is not supported; name the file"),
        ));
    }
    let looped = is_looped(item, key)?;
    let path = ctx.dir.join(&file);
    let doc = yaml::parse_file(&path)?;
    let (common, body_common) = include_common(item, key, parent, looped)?;
    let mut sub = TaskCtx {
        dir: path
            .parent()
            .map_or_else(|| ctx.dir.clone(), Path::to_path_buf),
        play_dir: ctx.play_dir.clone(),
        role: ctx.role.clone(),
        handlers: ctx.handlers,
        roles: ctx.roles,
        depth: ctx.depth + 1,
    };
    let nodes = parse_list(&doc, &mut sub, &body_common)?;
    if looped {
        return looped_include(item, key, file, common, nodes, ctx);
    }
    Ok(nodes)
}

/// Whether an include statement loops; import_* cannot (as in Ansible).
fn is_looped(item: &Y, key: &str) -> Result<bool, PlaybookError> {
    let looped = ["loop", "with_items", "with_list", "with_dict"]
        .iter()
        .any(|k| item.get(k).is_some());
    if looped
        && key
            .rsplit('.')
            .next()
            .is_some_and(|k| k.starts_with("import_"))
    {
        return Err(invalid(
            &item.loc,
            format!("{key} cannot loop (it is read when the playbook is); use include_* instead"),
        ));
    }
    Ok(looped)
}

/// The keywords of an include statement, and those its tasks inherit: a
/// looped include checks its own `when` per item (the item is in scope
/// there), so its tasks do not repeat it.
fn include_common(
    item: &Y,
    key: &str,
    parent: &Common,
    looped: bool,
) -> Result<(Common, Common), PlaybookError> {
    let own = Common::parse(item, keywords::INCLUDE, key)?;
    let mut common = own.clone();
    common.inherit(parent);
    if !looped {
        return Ok((common.clone(), common));
    }
    let mut body = own;
    body.when.clear();
    body.inherit(parent);
    Ok((common, body))
}

fn looped_include(
    item: &Y,
    key: &str,
    what: String,
    common: Common,
    body: Vec<Node>,
    ctx: &TaskCtx,
) -> Result<Vec<Node>, PlaybookError> {
    let short = if key.ends_with("include_role") {
        "include_role"
    } else {
        "include_tasks"
    };
    let task = Task {
        name: item.get("name").map(|n| scalar(n, "name")).transpose()?,
        loc: item.loc.clone(),
        action: Action::Include(short),
        common,
        loop_: parse_loop(item)?,
        register: None,
        notify: Vec::new(),
        listen: Vec::new(),
        changed_when: None,
        failed_when: None,
        until: None,
        retries: Templated::Value(0),
        delay: Templated::Value(0),
        role: ctx.role.clone(),
    };
    Ok(vec![Node::Include(Box::new(Include { task, what, body }))])
}

fn parse_include_role(
    item: &Y,
    key: &str,
    ctx: &mut TaskCtx,
    parent: &Common,
) -> Result<Vec<Node>, PlaybookError> {
    check_keys(item, key, keywords::INCLUDE)?;
    let spec = item.get(key).expect("key present");
    let name = spec
        .get("name")
        .ok_or_else(|| invalid(&spec.loc, format!("{key} needs `name:`")))?;
    let name = scalar(name, "name")?;
    let tasks_from = spec
        .get("tasks_from")
        .map(|t| scalar(t, "tasks_from"))
        .transpose()?;
    let looped = is_looped(item, key)?;
    let (common, body_common) = include_common(item, key, parent, looped)?;
    let params = Map::new();
    let nodes = role::expand(
        &name,
        &spec.loc,
        params,
        tasks_from.as_deref(),
        ctx,
        &body_common,
    )?;
    if looped {
        return looped_include(item, key, name, common, nodes, ctx);
    }
    Ok(nodes)
}

fn check_keys(item: &Y, key: &str, allowed: &[&str]) -> Result<(), PlaybookError> {
    for (k, _) in item.as_map().unwrap_or_default() {
        if k.name != key && !allowed.contains(&k.name.as_str()) {
            return Err(invalid(
                &k.loc,
                format!("{:?} is not valid on {key}", k.name),
            ));
        }
    }
    Ok(())
}

pub fn parse_task(item: &Y, ctx: &mut TaskCtx, parent: &Common) -> Result<Task, PlaybookError> {
    let map = item.as_map().unwrap_or_default();
    let name = item.get("name").map(|n| scalar(n, "name")).transpose()?;
    let label = name
        .clone()
        .map_or_else(String::new, |n| format!(" (task {n:?})"));
    let mut action: Option<(&Loc, &'static dyn Module, &Y, &str)> = None;
    for (k, v) in map {
        if keywords::TASK.contains(&k.name.as_str()) {
            continue;
        }
        let found = if k.name.rsplit('.').next() == Some("meta") {
            Some(META)
        } else {
            modules::lookup(&k.name)
        };
        match found {
            Some(m) => {
                if let Some((_, prev, _, _)) = action {
                    return Err(invalid(
                        &k.loc,
                        format!(
                            "a task can run one module; found {} and {}{label}",
                            prev.name(),
                            m.name()
                        ),
                    ));
                }
                action = Some((&k.loc, m, v, k.name.as_str()));
            }
            None => {
                return Err(invalid(
                    &k.loc,
                    format!(
                        "{:?} is neither a module condaplay knows nor a task keyword{label}",
                        k.name
                    ),
                ));
            }
        }
    }
    let Some((mloc, module, value, _)) = action else {
        return Err(invalid(&item.loc, format!("no module in this task{label}")));
    };
    let action = if module.name() == "meta" {
        let what = value
            .as_str()
            .ok_or_else(|| invalid(mloc, "meta expects an action name"))?;
        const SUPPORTED: &[&str] = &[
            "flush_handlers",
            "noop",
            "end_play",
            "end_host",
            "clear_host_errors",
            "refresh_inventory",
        ];
        if !SUPPORTED.contains(&what) {
            return Err(invalid(
                mloc,
                format!(
                    "meta: {what:?} is not supported (supported: {})",
                    SUPPORTED.join(", ")
                ),
            ));
        }
        Action::Meta(what.to_string())
    } else {
        let mut args_value = value.to_json();
        if let Some(extra) = item.get("args") {
            let extra = extra.to_json();
            match (&mut args_value, extra) {
                (Value::Object(m), Value::Object(e)) => m.extend(e),
                (v @ Value::Null, e @ Value::Object(_)) => *v = e,
                (Value::String(s), Value::Object(e)) => {
                    let mut m = Map::new();
                    m.insert("_raw_params".into(), Value::String(s.clone()));
                    m.extend(e);
                    args_value = Value::Object(m);
                }
                _ => {
                    return Err(invalid(
                        &item.loc,
                        format!("`args:` must be a mapping{label}"),
                    ));
                }
            }
        }
        let args = modules::normalize(module, &args_value)
            .map_err(|m| invalid(mloc, format!("{m}{label}")))?;
        Action::Module { module, args }
    };
    let mut common = Common::parse(item, keywords::TASK, "task")?;
    common.inherit(parent);
    let loop_ = parse_loop(item)?;
    Ok(Task {
        name,
        loc: item.loc.clone(),
        action,
        common,
        loop_,
        register: item
            .get("register")
            .map(|r| scalar(r, "register"))
            .transpose()?,
        notify: item
            .get("notify")
            .map(string_list)
            .transpose()?
            .unwrap_or_default(),
        listen: item
            .get("listen")
            .map(string_list)
            .transpose()?
            .unwrap_or_default(),
        changed_when: item.get("changed_when").map(conditions).transpose()?,
        failed_when: item.get("failed_when").map(conditions).transpose()?,
        until: item
            .get("until")
            .map(|u| conditions(u).map(|c| c.join(" and ")))
            .transpose()?,
        retries: item
            .get("retries")
            .map(|r| templated_uint(r, "retries"))
            .transpose()?
            .unwrap_or(Templated::Value(3)),
        delay: item
            .get("delay")
            .map(|r| templated_uint(r, "delay"))
            .transpose()?
            .unwrap_or(Templated::Value(5)),
        role: ctx.role.clone(),
    })
}

fn parse_loop(item: &Y) -> Result<Option<LoopSpec>, PlaybookError> {
    for unsupported in [
        "with_fileglob",
        "with_sequence",
        "with_nested",
        "with_subelements",
        "with_together",
        "with_first_found",
        "with_lines",
        "with_indexed_items",
        "with_random_choice",
    ] {
        if let Some(v) = item.get(unsupported) {
            return Err(invalid(
                &v.loc,
                format!("{unsupported} is not supported; use `loop:` with a filter"),
            ));
        }
    }
    let (items, dict, flatten) = if let Some(v) = item.get("loop") {
        (v.to_json(), false, false)
    } else if let Some(v) = item.get("with_items") {
        (v.to_json(), false, true)
    } else if let Some(v) = item.get("with_list") {
        (v.to_json(), false, false)
    } else if let Some(v) = item.get("with_dict") {
        (v.to_json(), true, false)
    } else {
        if let Some(lc) = item.get("loop_control") {
            return Err(invalid(&lc.loc, "loop_control without a loop"));
        }
        return Ok(None);
    };
    let mut spec = LoopSpec {
        items,
        dict,
        flatten,
        loop_var: "item".into(),
        index_var: None,
        label: None,
    };
    if let Some(lc) = item.get("loop_control") {
        for (k, v) in lc
            .as_map()
            .ok_or_else(|| invalid(&lc.loc, "loop_control must be a mapping"))?
        {
            match k.name.as_str() {
                "loop_var" => spec.loop_var = scalar(v, "loop_var")?,
                "index_var" => spec.index_var = Some(scalar(v, "index_var")?),
                "label" => spec.label = Some(scalar(v, "label")?),
                "pause" | "extended" | "extended_allitems" => {}
                other => {
                    return Err(invalid(
                        &k.loc,
                        format!("unknown loop_control option {other:?}"),
                    ));
                }
            }
        }
    }
    Ok(Some(spec))
}

pub fn scalar(v: &Y, what: &str) -> Result<String, PlaybookError> {
    match &v.kind {
        Kind::Str(s) => Ok(s.clone()),
        Kind::Int(i) => Ok(i.to_string()),
        Kind::Float(f) => Ok(f.to_string()),
        Kind::Bool(b) => Ok(if *b { "True".into() } else { "False".into() }),
        _ => Err(invalid(
            &v.loc,
            format!("{what} must be a string, found {}", v.type_name()),
        )),
    }
}

/// A keyword that is a value when the playbook is read, or a template that
/// becomes one when the task runs (`retries: "{{ health_retries }}"`).
#[derive(Clone, Debug, PartialEq)]
pub enum Templated<T> {
    Value(T),
    Template(String),
}

fn templated_uint(v: &Y, what: &str) -> Result<Templated<u32>, PlaybookError> {
    match &v.kind {
        Kind::Str(s) if s.contains("{{") => Ok(Templated::Template(s.clone())),
        _ => uint(v, what).map(Templated::Value),
    }
}

fn uint(v: &Y, what: &str) -> Result<u32, PlaybookError> {
    match &v.kind {
        Kind::Int(i) if *i >= 0 => Ok(*i as u32),
        Kind::Str(s) => s
            .trim()
            .parse()
            .map_err(|_| invalid(&v.loc, format!("{what} must be a whole number"))),
        _ => Err(invalid(&v.loc, format!("{what} must be a whole number"))),
    }
}

pub fn string_list(v: &Y) -> Result<Vec<String>, PlaybookError> {
    match &v.kind {
        Kind::Null => Ok(Vec::new()),
        Kind::Str(s) => Ok(s
            .split(',')
            .map(|p| p.trim().to_string())
            .filter(|p| !p.is_empty())
            .collect()),
        Kind::Seq(items) => items.iter().map(|i| scalar(i, "list item")).collect(),
        _ => Err(invalid(
            &v.loc,
            format!("expected a string or a list, found {}", v.type_name()),
        )),
    }
}

/// `when:`-like values: a string, a boolean, or a list of them (AND).
pub fn conditions(v: &Y) -> Result<Vec<String>, PlaybookError> {
    match &v.kind {
        Kind::Seq(items) => items.iter().map(|i| scalar(i, "condition")).collect(),
        Kind::Null => Ok(Vec::new()),
        _ => Ok(vec![scalar(v, "condition")?]),
    }
}

pub fn mapping(v: &Y, what: &str) -> Result<Map<String, Value>, PlaybookError> {
    match v.to_json() {
        Value::Object(m) => Ok(m),
        Value::Null => Ok(Map::new()),
        _ => Err(invalid(
            &v.loc,
            format!("{what} must be a mapping, found {}", v.type_name()),
        )),
    }
}
