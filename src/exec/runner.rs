//! The linear strategy: every task runs on all hosts of the batch (in
//! parallel, up to `forks`) before the next task starts.
//!
//! A task on a set of hosts goes in three phases: plan (on the controller:
//! variables, conditions, loops, templating, the module's shell body), run
//! (one program per host over its ssh master, all hosts at once), finish
//! (records to results, changed_when/failed_when, register, notify, output).

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use futures::StreamExt;
use serde_json::{Map, Value, json};
use tokio::sync::OnceCell;

use super::facts;
use super::report::Report;
use super::stats::{Stats, Status};
use super::vars::{self, HostLayers, PlayVars};
use crate::connection::{Become, ConnError, Connection, ExecOutput, Target};
use crate::inventory::Inventory;
use crate::modules::{self, Args, Outcome, Plan, PlanCtx, protocol, to_bool};
use crate::playbook::{Action, Include, LoopSpec, Node, Play, Serial, Task, Templated};
use crate::template::{Context, Shared, Templar};

pub struct Options {
    pub check: bool,
    pub diff: bool,
    pub verbose: u8,
    pub forks: usize,
    pub tags: Vec<String>,
    pub skip_tags: Vec<String>,
    pub start_at_task: Option<String>,
    pub extra_vars: Map<String, Value>,
    pub limit: Option<Vec<String>>,
}

struct HostState {
    name: String,
    inventory: Map<String, Value>,
    facts: Option<Map<String, Value>>,
    /// set_fact and register results: they outlive the play.
    host_facts: Map<String, Value>,
    stats: Stats,
    unreachable: bool,
    failed: bool,
    /// Failed inside a block that has a rescue: counted only if not rescued.
    pending_failure: bool,
    ended: bool,
    notified: Vec<String>,
    /// The play gathers facts and they have not been asked for yet: they
    /// travel with the host's first round trip of tasks when those tasks'
    /// plans do not need them (see `run_batch`).
    facts_pending: bool,
    /// The loop variables of the looped includes being run for this host.
    include_vars: Map<String, Value>,
}

type ConnCell = Arc<OnceCell<Result<Arc<Connection>, String>>>;

/// Control flow out of a task list.
#[derive(PartialEq, Eq)]
enum Flow {
    Continue,
    EndPlay,
}

pub struct Runner<'a> {
    inv: &'a Inventory,
    pub report: Report<'a>,
    templar: Templar,
    opts: Options,
    hosts: Vec<HostState>,
    index: HashMap<String, usize>,
    conns: Mutex<HashMap<String, ConnCell>>,
    control_dir: tempfile::TempDir,
    started: bool,
    playbook_dir: PathBuf,
    /// While a batch is planned with facts pending: the probe that notes
    /// whether a plan looked up a fact (see `run_batch`).
    fact_probe: Option<Shared>,
}

/// Per-host plan of one task.
struct HostPlan {
    host: usize,
    vars: Map<String, Value>,
    ctx: Context,
    items: Vec<ItemPlan>,
    bodies: Vec<String>,
    /// Where each body runs: `delegate_to` rendered for its item, `None`
    /// for the host itself. Bodies for one host sit together (see
    /// [`group_by_connection`]), each run of them is one program.
    delegates: Vec<Option<String>>,
    become_: Option<Become>,
    /// How to reach the host, when worked out before `vars` was let go.
    target: Option<Target>,
    magic: Shared,
    env: Vec<(String, String)>,
    check: bool,
    diff: bool,
    no_log: bool,
    ignore_errors: bool,
    skipped_all: bool,
    error: Option<String>,
}

struct ItemPlan {
    label: Option<String>,
    item: Option<(String, Value)>,
    args: Option<Args>,
    state: ItemState,
    /// The `when` condition that skipped the item, for its registered result.
    false_condition: Option<String>,
}

enum ItemState {
    Skipped,
    Done(Outcome),
    Remote(usize),
    Error(String),
}

impl<'a> Runner<'a> {
    pub fn new(
        inv: &'a Inventory,
        report: Report<'a>,
        opts: Options,
        playbook_dir: PathBuf,
    ) -> std::io::Result<Runner<'a>> {
        let mut hosts = Vec::new();
        let mut index = HashMap::new();
        for name in inv.hosts() {
            index.insert(name.to_string(), hosts.len());
            hosts.push(HostState {
                name: name.to_string(),
                inventory: inv.host_vars(name),
                facts: None,
                host_facts: Map::new(),
                stats: Stats::default(),
                unreachable: false,
                failed: false,
                pending_failure: false,
                ended: false,
                notified: Vec::new(),
                include_vars: Map::new(),
                facts_pending: false,
            });
        }
        // Socket paths must stay short: a private directory directly in /tmp.
        let control_dir = tempfile::Builder::new().prefix("cp").tempdir_in("/tmp")?;
        let started = opts.start_at_task.is_none();
        Ok(Runner {
            inv,
            report,
            templar: Templar::new(),
            opts,
            hosts,
            index,
            conns: Mutex::default(),
            control_dir,
            started,
            playbook_dir,
            fact_probe: None,
        })
    }

    /// The recap rows of hosts that took part.
    pub fn stats(&self) -> Vec<(String, Stats)> {
        self.hosts
            .iter()
            .filter(|h| h.stats != Stats::default() || h.unreachable)
            .map(|h| (h.name.clone(), h.stats))
            .collect()
    }

    pub fn failed_hosts(&self) -> Vec<String> {
        self.hosts
            .iter()
            .filter(|h| h.stats.failed > 0 || h.stats.unreachable > 0)
            .map(|h| h.name.clone())
            .collect()
    }

    /// Closes every master connection (after the recap, and on Ctrl-C).
    pub async fn close(&self) {
        let cells: Vec<ConnCell> = self.conns.lock().unwrap().drain().map(|(_, c)| c).collect();
        for cell in cells {
            let Ok(cell) = Arc::try_unwrap(cell) else {
                continue;
            };
            if let Some(Ok(conn)) = cell.into_inner() {
                if let Ok(conn) = Arc::try_unwrap(conn) {
                    conn.close().await;
                }
            }
        }
    }

    /// Runs one play; `Ok(false)` when the playbook ends with it, as in
    /// Ansible: a batch whose hosts all failed, or a failure that any_errors_fatal
    /// or max_fail_percentage makes fatal, stops the later plays too. An error is
    /// a play that cannot start (a `hosts:` or `serial:` template that does
    /// not render): Ansible stops the playbook there.
    pub async fn run_play(
        &mut self,
        play: &Play,
        vars_files: Map<String, Value>,
    ) -> Result<bool, String> {
        self.report.play(&play.name);
        let (pattern, serial) = self.play_keywords(play, &vars_files)?;
        let (selected, warnings) = match self.inv.select(&pattern) {
            Ok(x) => x,
            Err(e) => {
                self.report.warn(&e.to_string());
                return Ok(true);
            }
        };
        for w in warnings {
            self.report.warn(&w);
        }
        let mut hosts: Vec<usize> = selected
            .iter()
            .filter(|h| self.opts.limit.as_ref().is_none_or(|l| l.contains(h)))
            .filter_map(|h| self.index.get(h).copied())
            .filter(|&i| !self.hosts[i].unreachable && !self.hosts[i].failed)
            .collect();
        match play.order.as_str() {
            "reverse_inventory" => hosts.reverse(),
            "sorted" => hosts.sort_by(|a, b| self.hosts[*a].name.cmp(&self.hosts[*b].name)),
            "reverse_sorted" => hosts.sort_by(|a, b| self.hosts[*b].name.cmp(&self.hosts[*a].name)),
            "shuffle" => {
                use rand::seq::SliceRandom;
                hosts.shuffle(&mut rand::thread_rng());
            }
            _ => {}
        }
        if hosts.is_empty() {
            self.report.printer.line("skipping: no hosts matched");
            return Ok(true);
        }
        for &h in &hosts {
            self.hosts[h].ended = false;
        }
        let pv = PlayVars::new(play, vars_files);
        let all_names: Vec<Value> = hosts
            .iter()
            .map(|&h| Value::String(self.hosts[h].name.clone()))
            .collect();
        for batch in batches(&hosts, &serial) {
            let batch_names: Vec<Value> = batch
                .iter()
                .map(|&h| Value::String(self.hosts[h].name.clone()))
                .collect();
            let play_ctx = PlayCtx {
                play,
                pv: &pv,
                magic: self.magic_vars(play, &all_names, &batch_names),
            };
            if play.gather_facts {
                for &h in &batch {
                    if self.hosts[h].facts.is_none() {
                        self.hosts[h].facts_pending = true;
                    }
                }
            }
            let mut flow = Flow::Continue;
            for section in &play.sections {
                if flow == Flow::EndPlay {
                    break;
                }
                flow = self.run_nodes(section, &batch, &play_ctx, false).await;
                if flow == Flow::Continue && self.abort_batch(play, &batch) {
                    flow = Flow::EndPlay;
                }
                self.flush_handlers(&batch, &play_ctx).await;
            }
            // A play whose tasks all stayed on the controller still gathers.
            self.gather_pending(&batch, &play_ctx).await;
            let abort = self.abort_batch(play, &batch);
            // A batch that failed whole ends the playbook, as in Ansible, except
            // that max_fail_percentage, when set, has the say (Ansible stops even
            // at 100%, which its users report as a bug: ansible/ansible#76915).
            let all_failed = self.hosts_left(&batch) == 0 && play.max_fail_percentage.is_none();
            if flow == Flow::EndPlay || abort || all_failed {
                let failures = batch
                    .iter()
                    .any(|&h| self.hosts[h].failed || self.hosts[h].unreachable);
                // `meta: end_play` ends this play only.
                let fatal = all_failed || (failures && (abort || flow == Flow::EndPlay));
                if fatal {
                    self.report.printer.line("\nNO MORE HOSTS LEFT *************************************************************");
                }
                return Ok(!fatal);
            }
        }
        Ok(true)
    }

    fn hosts_left(&self, batch: &[usize]) -> usize {
        batch
            .iter()
            .filter(|&&h| !self.hosts[h].failed && !self.hosts[h].unreachable)
            .count()
    }

    /// Whether the play stops after this batch: any_errors_fatal, a failure
    /// percentage above max_fail_percentage, or a batch that failed whole.
    fn abort_batch(&self, play: &Play, batch: &[usize]) -> bool {
        let failed = batch
            .iter()
            .filter(|&&h| self.hosts[h].failed || self.hosts[h].unreachable)
            .count();
        if failed == 0 {
            return false;
        }
        if play.any_errors_fatal {
            return true;
        }
        match play.max_fail_percentage {
            Some(pct) => (failed as f64) * 100.0 / (batch.len() as f64) > pct,
            None => !play.serial.is_empty() && failed == batch.len(),
        }
    }

    /// Gathers the facts still pending on these hosts, in a round trip of
    /// their own (when the next step cannot take them along).
    async fn gather_pending(&mut self, hosts: &[usize], pc: &PlayCtx<'_>) {
        let need = self.hosts_where(hosts, |st| st.facts_pending);
        for &h in &need {
            self.hosts[h].facts_pending = false;
        }
        let need = self.hosts_where(&need, |st| !st.unreachable && !st.failed);
        if !need.is_empty() {
            self.gather_facts(&need, pc).await;
        }
    }

    async fn gather_facts(&mut self, hosts: &[usize], pc: &PlayCtx<'_>) {
        self.report.task("Gathering Facts", "TASK");
        let program = facts_program();
        let mut jobs = Vec::new();
        for &h in hosts {
            let (vars, _) = self.vars_for(h, pc, None, &Context::raw(&Map::new()));
            jobs.push((
                h,
                self.conn_cell(&self.hosts[h].name.clone()),
                self.target_for(&self.hosts[h].name.clone(), &vars, &pc.magic),
            ));
        }
        let program = &program;
        let ctl = self.control_dir.path().to_path_buf();
        let ctl = &ctl;
        let me = &*self;
        let results: Vec<(usize, Result<ExecOutput, String>)> =
            futures::stream::iter(jobs.into_iter().map(|(h, cell, target)| async move {
                let r = match connect(&cell, target, ctl).await {
                    Ok(conn) => {
                        let before = conn.round_trips();
                        let r = conn.exec(program, None).await.map_err(|e| e.to_string());
                        let trips = conn.round_trips() - before;
                        me.trace_trips(&me.hosts[h].name, trips, &["Gathering Facts".into()]);
                        r
                    }
                    Err(e) => Err(e),
                };
                (h, r)
            }))
            .buffered(self.opts.forks.max(1))
            .collect()
            .await;
        for (h, r) in results {
            self.take_facts(h, r);
        }
    }

    /// `-vvv`: what went to a host in how many round trips.
    fn trace_trips(&self, host: &str, trips: usize, what: &[String]) {
        if self.opts.verbose >= 3 {
            let s = if trips == 1 { "" } else { "s" };
            self.report.printer.info(&format!(
                "<{host}> {trips} round trip{s}: {}",
                what.join(", ")
            ));
        }
    }

    /// A host's facts from the facts program's output; a host whose facts
    /// cannot be read is unreachable, as in Ansible.
    fn take_facts(&mut self, h: usize, out: Result<ExecOutput, String>) {
        match out.map(|out| protocol::parse_unit(&out.stdout, &out.stderr, out.finished())) {
            Ok(mut raws) if raws.first().is_some_and(|r| r.status == Some(0)) => {
                let raw = raws.remove(0);
                self.hosts[h].facts = Some(facts::from_records(&raw.ret));
                self.hosts[h].stats.count(Status::Ok, false);
                let name = self.hosts[h].name.clone();
                self.report.host_result(
                    &name,
                    Status::Ok,
                    &json!({"changed": false}),
                    &[],
                    false,
                    &[],
                );
            }
            Ok(raws) => {
                let msg = raws.first().map(|r| r.stderr.clone()).unwrap_or_default();
                self.fail_unreachable(h, &format!("could not gather facts: {msg}"));
            }
            Err(e) => self.fail_unreachable(h, &e),
        }
    }

    fn fail_unreachable(&mut self, h: usize, msg: &str) {
        let st = &mut self.hosts[h];
        st.unreachable = true;
        st.stats.count(Status::Unreachable, false);
        let name = st.name.clone();
        self.report.host_result(
            &name,
            Status::Unreachable,
            &json!({"msg": msg, "unreachable": true, "changed": false}),
            &[],
            false,
            &[],
        );
    }

    fn run_nodes<'s>(
        &'s mut self,
        nodes: &'s [Node],
        hosts: &'s [usize],
        pc: &'s PlayCtx<'s>,
        rescuable: bool,
    ) -> futures::future::BoxFuture<'s, Flow> {
        Box::pin(async move {
            let mut next = 0;
            while next < nodes.len() {
                let node = &nodes[next];
                next += 1;
                // Facts go along with a batch of tasks only (see run_batch).
                if !matches!(node, Node::Task(t) if self.batchable(t, pc)) {
                    self.gather_pending(hosts, pc).await;
                }
                let flow = match node {
                    Node::Task(t) => {
                        // Consecutive tasks that need no decision on the
                        // controller between them travel in one round trip.
                        let mut batch: Vec<&Task> = vec![t];
                        // Plans of a batch are held at once: bound their number.
                        let most = (MAX_BATCH_PLANS / self.active(hosts).len().max(1)).max(2);
                        if self.batchable(t, pc) {
                            while let Some(Node::Task(u)) = nodes.get(next) {
                                if batch.len() >= most || !self.batchable(u, pc) {
                                    break;
                                }
                                batch.push(u);
                                next += 1;
                            }
                        }
                        let facts_pending = hosts.iter().any(|&h| self.hosts[h].facts_pending);
                        if batch.len() > 1 || (facts_pending && self.batchable(t, pc)) {
                            self.run_batch(&batch, hosts, pc, rescuable).await
                        } else {
                            self.run_task(t, hosts, pc, rescuable, false).await
                        }
                    }
                    Node::Block(b) => {
                        let entered: Vec<usize> = self.active(hosts);
                        if entered.is_empty() {
                            continue;
                        }
                        let has_rescue = !b.rescue.is_empty();
                        let mut flow = self
                            .run_nodes(&b.block, &entered, pc, rescuable || has_rescue)
                            .await;
                        let failed = self.hosts_where(&entered, |st| st.failed && !st.unreachable);
                        if has_rescue && !failed.is_empty() && flow == Flow::Continue {
                            for &h in &failed {
                                let st = &mut self.hosts[h];
                                st.failed = false;
                                st.pending_failure = false;
                                st.stats.rescued += 1;
                            }
                            flow = self.run_nodes(&b.rescue, &failed, pc, rescuable).await;
                        }
                        if !b.always.is_empty() && flow == Flow::Continue {
                            // `always` runs for hosts that failed in the block too.
                            let still_failed = self.hosts_where(&entered, |st| st.failed);
                            for &h in &still_failed {
                                self.hosts[h].failed = false;
                            }
                            let always_hosts =
                                self.hosts_where(&entered, |st| !st.unreachable && !st.ended);
                            flow = self
                                .run_nodes(&b.always, &always_hosts, pc, rescuable)
                                .await;
                            for &h in &still_failed {
                                self.hosts[h].failed = true;
                            }
                        }
                        if !rescuable {
                            for &h in &entered {
                                let st = &mut self.hosts[h];
                                if st.pending_failure {
                                    st.pending_failure = false;
                                    st.stats.failed += 1;
                                }
                            }
                        }
                        flow
                    }
                    Node::Include(inc) => self.run_include(inc, hosts, pc, rescuable).await,
                };
                if flow == Flow::EndPlay {
                    return flow;
                }
                if self.active(hosts).is_empty() {
                    return Flow::Continue;
                }
            }
            Flow::Continue
        })
    }

    fn active(&self, hosts: &[usize]) -> Vec<usize> {
        self.hosts_where(hosts, |st| !st.failed && !st.unreachable && !st.ended)
    }

    /// The hosts of `hosts` whose state passes `keep`, in order.
    fn hosts_where(&self, hosts: &[usize], keep: impl Fn(&HostState) -> bool) -> Vec<usize> {
        hosts
            .iter()
            .copied()
            .filter(|&h| keep(&self.hosts[h]))
            .collect()
    }

    fn selected_by_tags(&self, task: &Task) -> bool {
        let tags = &task.common.tags;
        let wanted = &self.opts.tags;
        if self
            .opts
            .skip_tags
            .iter()
            .any(|s| tags.contains(s) || (s == "all"))
        {
            return false;
        }
        if tags.iter().any(|t| t == "never") && !wanted.iter().any(|w| tags.contains(w)) {
            return false;
        }
        if wanted.is_empty() || wanted.iter().any(|w| w == "all") {
            return true;
        }
        tags.iter().any(|t| t == "always" || wanted.contains(t))
            || (wanted.iter().any(|w| w == "untagged") && tags.is_empty())
            || (wanted.iter().any(|w| w == "tagged") && !tags.is_empty())
    }

    async fn flush_handlers(&mut self, hosts: &[usize], pc: &PlayCtx<'_>) {
        let handlers = &pc.play.handlers;
        for node in handlers {
            let Node::Task(h) = node else { continue };
            let names: Vec<String> = {
                let mut n = h.listen.clone();
                if let Some(name) = &h.name {
                    n.push(name.clone());
                    if let Some(r) = &h.role {
                        n.push(format!("{} : {name}", r.name));
                    }
                }
                n
            };
            let notified = self.hosts_where(hosts, |st| {
                !st.unreachable
                    && (!st.failed || pc.play.force_handlers)
                    && st.notified.iter().any(|n| names.contains(n))
            });
            if notified.is_empty() {
                continue;
            }
            for &i in &notified {
                self.hosts[i].notified.retain(|n| !names.contains(n));
            }
            self.run_task(h, &notified, pc, false, true).await;
        }
        for &i in hosts {
            self.hosts[i].notified.clear();
        }
    }

    fn conn_cell(&self, name: &str) -> ConnCell {
        self.conns
            .lock()
            .unwrap()
            .entry(name.to_string())
            .or_default()
            .clone()
    }

    /// Every host's variables, for `hostvars`: built once per task, converted lazily.
    fn hostvars(&self) -> Context {
        let map: Map<String, Value> = self
            .hosts
            .iter()
            .map(|o| {
                let mut m = o.inventory.clone();
                if let Some(f) = &o.facts {
                    for (k, val) in f {
                        m.insert(format!("ansible_{k}"), val.clone());
                    }
                    m.insert("ansible_facts".into(), Value::Object(f.clone()));
                }
                m.extend(o.host_facts.clone());
                m.insert("inventory_hostname".into(), Value::String(o.name.clone()));
                (o.name.clone(), Value::Object(m))
            })
            .collect();
        Context::lazy(Arc::new(map))
    }

    /// A host's variables for a task: the merged map (for lookups such as
    /// connection variables) and the rendering context. Values written in
    /// playbooks and inventories render lazily when used; facts, registered
    /// results and set_fact values are already data and are never rendered again.
    fn vars_for(
        &self,
        h: usize,
        pc: &PlayCtx<'_>,
        task: Option<&Task>,
        hostvars: &Context,
    ) -> (Map<String, Value>, Context) {
        let st = &self.hosts[h];
        let empty = Map::new();
        let layers = HostLayers {
            inventory: &st.inventory,
            facts: None,
            host_facts: &empty,
        };
        let templated = vars::assemble(pc.pv, &layers, task, &self.opts.extra_vars);
        let mut raw = Map::new();
        if let Some(facts) = &st.facts {
            for (k, val) in facts {
                raw.insert(format!("ansible_{k}"), val.clone());
            }
            raw.insert("ansible_facts".into(), Value::Object(facts.clone()));
        }
        raw.extend(st.host_facts.clone());
        raw.insert("inventory_hostname".into(), Value::String(st.name.clone()));
        raw.insert(
            "inventory_hostname_short".into(),
            Value::String(st.name.split('.').next().unwrap_or("").to_string()),
        );
        raw.insert(
            "group_names".into(),
            self.inv
                .group_names(&st.name)
                .into_iter()
                .map(Value::String)
                .collect(),
        );
        // Role parameters, include loop variables and extra vars outrank
        // set_fact: they go on top again, in that order.
        let mut top = task
            .and_then(|t| t.role.as_ref())
            .map(|r| r.params.clone())
            .unwrap_or_default();
        top.extend(st.include_vars.clone());
        top.extend(self.opts.extra_vars.clone());
        let mut ctx = Context::new(&templated)
            .with_raw(&raw)
            .with_shared(&pc.magic);
        if !top.is_empty() {
            ctx = ctx.with(&top);
        }
        let mut ctx = ctx.with_context("hostvars", hostvars);
        if let (true, Some(probe)) = (st.facts_pending, &self.fact_probe) {
            ctx = ctx.with_shared(probe);
        }
        let mut map = templated;
        map.extend(raw);
        map.extend(top);
        (map, ctx)
    }

    /// The variables that are the same for every host of a batch. They are
    /// converted once and shared by every context (never copied into the
    /// per-host maps): with 50 hosts, `groups` and the four lists of play
    /// hosts alone were most of the controller's memory.
    fn magic_vars(&self, play: &Play, all: &[Value], batch: &[Value]) -> Shared {
        let mut m = Map::new();
        m.insert("groups".into(), Value::Object(self.inv.groups()));
        m.insert("play_hosts".into(), Value::Array(batch.to_vec()));
        m.insert("ansible_play_batch".into(), Value::Array(batch.to_vec()));
        m.insert("ansible_play_hosts".into(), Value::Array(all.to_vec()));
        m.insert("ansible_play_hosts_all".into(), Value::Array(all.to_vec()));
        m.insert("ansible_check_mode".into(), Value::Bool(self.opts.check));
        m.insert("ansible_diff_mode".into(), Value::Bool(self.opts.diff));
        m.insert("ansible_verbosity".into(), Value::from(self.opts.verbose));
        m.insert(
            "playbook_dir".into(),
            Value::String(self.playbook_dir.display().to_string()),
        );
        m.insert("ansible_play_name".into(), Value::String(play.name.clone()));
        m.insert("omit".into(), Value::String(OMIT.into()));
        Shared::new(&m)
    }

    /// How to reach `name`: its inventory variables, rendered (with the
    /// play's magic variables in scope).
    fn target_for(&self, name: &str, task_vars: &Map<String, Value>, magic: &Shared) -> Target {
        let mut vars = task_vars.clone();
        if task_vars.get("inventory_hostname").and_then(Value::as_str) != Some(name) {
            // Delegation: the other host's own connection variables only.
            for k in crate::connection::CONNECTION_VARS {
                vars.remove(*k);
            }
            if let Some(&i) = self.index.get(name) {
                vars.extend(self.hosts[i].inventory.clone());
            }
        }
        let ctx = Context::new(&vars).with_shared(magic);
        let mut rendered = Map::new();
        for k in crate::connection::CONNECTION_VARS {
            if let Some(v) = vars.get(*k) {
                if let Ok(r) = self.templar.render_value(v, &ctx) {
                    rendered.insert((*k).to_string(), r);
                }
            }
        }
        let implicit_local =
            matches!(name, "localhost" | "127.0.0.1") && !self.index.contains_key(name);
        Target::from_vars(name, &rendered, implicit_local)
    }

    fn flag(&self, v: &Option<Value>, ctx: &Context, default: bool) -> Result<bool, String> {
        match v {
            None => Ok(default),
            Some(v) => {
                let r = self
                    .templar
                    .render_value(v, ctx)
                    .map_err(|e| e.to_string())?;
                to_bool(&r).ok_or_else(|| format!("expected a boolean, got {r}"))
            }
        }
    }

    /// Phase 1 for one host.
    fn plan_host(&self, task: &Task, h: usize, pc: &PlayCtx<'_>, hostvars: &Context) -> HostPlan {
        let (vars, ctx) = self.vars_for(h, pc, Some(task), hostvars);
        let mut plan = HostPlan {
            ctx,
            host: h,
            vars,
            items: Vec::new(),
            bodies: Vec::new(),
            delegates: Vec::new(),
            become_: None,
            target: None,
            magic: pc.magic.clone(),
            env: Vec::new(),
            check: self.opts.check,
            diff: self.opts.diff,
            no_log: false,
            ignore_errors: false,
            skipped_all: false,
            error: None,
        };
        if let Err(e) = self.plan_host_inner(task, &mut plan) {
            plan.error = Some(format!("{}: task {:?}: {e}", task.loc, task.display_name()));
        }
        plan
    }

    fn plan_host_inner(&self, task: &Task, plan: &mut HostPlan) -> Result<(), String> {
        let ctx = plan.ctx.clone();
        let c = &task.common;
        plan.check = self.flag(&c.check_mode, &ctx, self.opts.check)?;
        plan.diff = self.flag(&c.diff, &ctx, self.opts.diff)?;
        plan.no_log = self.flag(&c.no_log, &ctx, false)?;
        plan.ignore_errors = self.flag(&c.ignore_errors, &ctx, false)?;
        let inv_become = plan.vars.get("ansible_become").cloned();
        let become_ = self.flag(&c.become_.clone().or(inv_become), &ctx, false)?;
        if become_ {
            let user = match &c.become_user {
                Some(u) => self.render_string(u, &ctx)?,
                None => plan
                    .vars
                    .get("ansible_become_user")
                    .and_then(Value::as_str)
                    .unwrap_or("root")
                    .to_string(),
            };
            let password = [
                "ansible_become_password",
                "ansible_become_pass",
                "ansible_sudo_pass",
            ]
            .iter()
            .find_map(|k| plan.vars.get(*k))
            .map(|v| {
                self.templar
                    .render_value(v, &ctx)
                    .map_err(|e| e.to_string())
            })
            .transpose()?
            .and_then(|v| v.as_str().map(str::to_string));
            plan.become_ = Some(Become { user, password });
        }
        for env in &c.environment {
            match self
                .templar
                .render_value(env, &ctx)
                .map_err(|e| e.to_string())?
            {
                Value::Object(m) => {
                    for (k, v) in m {
                        let v = match v {
                            Value::String(s) => s,
                            other => other.to_string(),
                        };
                        plan.env.push((k, v));
                    }
                }
                Value::Null => {}
                other => return Err(format!("environment must be a mapping, got {other}")),
            }
        }
        let items: Vec<Option<Value>> = match &task.loop_ {
            None => vec![None],
            Some(l) => self.loop_items(l, &ctx)?.into_iter().map(Some).collect(),
        };
        if task.loop_.is_some() && items.is_empty() {
            plan.skipped_all = true;
            return Ok(());
        }
        let Action::Module { module, args } = &task.action else {
            return Ok(());
        };
        for (idx, item) in items.into_iter().enumerate() {
            let item_ctx;
            let (ctx_ref, item_binding) = match (&item, &task.loop_) {
                (Some(value), Some(l)) => {
                    item_ctx = ctx.with_raw(&loop_item_vars(l, idx, value));
                    (&item_ctx, Some((l.loop_var.clone(), value.clone())))
                }
                _ => (&ctx, None),
            };
            let label = match (
                &item_binding,
                task.loop_.as_ref().and_then(|l| l.label.as_ref()),
            ) {
                (Some(_), Some(label)) => Some(self.render_string(label, ctx_ref)?),
                (Some((_, v)), None) => Some(match v {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                }),
                _ => None,
            };
            let mut ip = ItemPlan {
                label,
                item: item_binding,
                args: None,
                state: ItemState::Skipped,
                false_condition: None,
            };
            let mut when_ok = true;
            for cond in &task.common.when {
                match self.templar.eval_bool(cond, ctx_ref) {
                    Ok(true) => {}
                    Ok(false) => {
                        when_ok = false;
                        ip.false_condition = Some(cond.clone());
                        break;
                    }
                    Err(e) => {
                        ip.state =
                            ItemState::Error(format!("The conditional check '{cond}' failed: {e}"));
                        when_ok = false;
                        break;
                    }
                }
            }
            // Ansible renders delegate_to per item, with the item in scope.
            let delegate = match (&c.delegate_to, when_ok) {
                (Some(d), true) => match self.render_string(d, ctx_ref) {
                    Ok(d) => Some(d),
                    Err(e) => {
                        ip.state = ItemState::Error(format!("delegate_to: {e}"));
                        when_ok = false;
                        None
                    }
                },
                _ => None,
            };
            if when_ok {
                ip.state = match self
                    .templar
                    .render_value(&Value::Object(args.clone()), ctx_ref)
                {
                    Err(e) => ItemState::Error(e.to_string()),
                    Ok(Value::Object(mut rendered)) => {
                        rendered.retain(|_, v| v.as_str() != Some(OMIT));
                        let a = Args::new(module.name(), rendered);
                        let search = search_dirs(task, &self.playbook_dir);
                        let pctx = PlanCtx {
                            host: &self.hosts[plan.host].name,
                            check: plan.check,
                            diff: plan.diff,
                            templar: &self.templar,
                            vars: ctx_ref,
                            search: &search,
                        };
                        let st = match module.plan(&a, &pctx) {
                            Ok(Plan::Done(o)) => ItemState::Done(o),
                            Ok(Plan::Remote(body)) => {
                                plan.bodies.push(body);
                                plan.delegates.push(delegate);
                                ItemState::Remote(plan.bodies.len() - 1)
                            }
                            Err(e) => ItemState::Error(e.to_string()),
                        };
                        ip.args = Some(a);
                        st
                    }
                    Ok(_) => ItemState::Error("arguments did not render to a mapping".into()),
                };
            }
            plan.items.push(ip);
        }
        group_by_connection(plan, &self.hosts[plan.host].name);
        Ok(())
    }

    /// A loop's items for one host.
    fn loop_items(&self, l: &LoopSpec, ctx: &Context) -> Result<Vec<Value>, String> {
        let rendered = self
            .templar
            .render_value(&l.items, ctx)
            .map_err(|e| e.to_string())?;
        Ok(match rendered {
            Value::Array(a) if l.flatten => a
                .into_iter()
                .flat_map(|v| {
                    if let Value::Array(inner) = v {
                        inner
                    } else {
                        vec![v]
                    }
                })
                .collect(),
            Value::Array(a) => a,
            Value::Object(m) if l.dict => m
                .into_iter()
                .map(|(k, v)| json!({"key": k, "value": v}))
                .collect(),
            Value::Null => Vec::new(),
            Value::String(s) if l.flatten => vec![Value::String(s)],
            other => return Err(format!("loop expects a list, got {other}")),
        })
    }

    /// A looped `include_tasks`/`include_role`: each host renders its own
    /// items and checks `when` per item; then, item by item, the included
    /// tasks run on the hosts that have that item, with the loop variable
    /// set (as Ansible's linear strategy runs included files in turn).
    async fn run_include(
        &mut self,
        inc: &Include,
        hosts: &[usize],
        pc: &PlayCtx<'_>,
        rescuable: bool,
    ) -> Flow {
        let task = &inc.task;
        let Some(l) = &task.loop_ else {
            return self.run_nodes(&inc.body, hosts, pc, rescuable).await;
        };
        if !self.selected_by_tags(task) {
            return Flow::Continue;
        }
        let hosts = self.active(hosts);
        if hosts.is_empty() {
            return Flow::Continue;
        }
        let title = self.task_title(task, pc);
        self.report.task(&title, "TASK");
        let hostvars = self.hostvars();
        let mut runs: Vec<(usize, IncludeItems)> = Vec::new();
        for &h in &hosts {
            let (_, ctx) = self.vars_for(h, pc, Some(task), &hostvars);
            let name = self.hosts[h].name.clone();
            let planned = self.loop_items(l, &ctx).and_then(|items| {
                let mut out = Vec::new();
                for (idx, value) in items.iter().enumerate() {
                    let vars = loop_item_vars(l, idx, value);
                    let item_ctx = ctx.with_raw(&vars);
                    let mut skip = None;
                    for cond in &task.common.when {
                        match self.templar.eval_bool(cond, &item_ctx) {
                            Ok(true) => {}
                            Ok(false) => {
                                skip = Some(cond.clone());
                                break;
                            }
                            Err(e) => {
                                return Err(format!("The conditional check '{cond}' failed: {e}"));
                            }
                        }
                    }
                    let label = match &l.label {
                        Some(label) => self.render_string(label, &item_ctx)?,
                        None => match value {
                            Value::String(s) => s.clone(),
                            other => other.to_string(),
                        },
                    };
                    out.push((label, vars, skip));
                }
                Ok(out)
            });
            let planned = match planned {
                Ok(p) => p,
                Err(e) => {
                    let msg = format!("{}: task {:?}: {e}", task.loc, task.display_name());
                    let st = &mut self.hosts[h];
                    st.failed = true;
                    if rescuable {
                        st.pending_failure = true;
                    } else {
                        st.stats.count(Status::Failed, false);
                    }
                    self.report.host_result(
                        &name,
                        Status::Failed,
                        &json!({"failed": true, "changed": false, "msg": msg}),
                        &[],
                        false,
                        &[],
                    );
                    continue;
                }
            };
            if planned.iter().all(|(_, _, skip)| skip.is_some()) {
                let lines: Vec<(String, Status, Value)> = planned
                    .iter()
                    .map(|(label, _, skip)| {
                        (label.clone(), Status::Skipped, skip_result(skip.as_deref()))
                    })
                    .collect();
                self.hosts[h].stats.count(Status::Skipped, false);
                self.report.host_result(
                    &name,
                    Status::Skipped,
                    &json!({"changed": false, "skipped": true}),
                    &lines,
                    false,
                    &[],
                );
            } else {
                self.hosts[h].stats.count(Status::Ok, false);
                for (label, _, skip) in &planned {
                    self.report
                        .included(&name, &inc.what, label, skip.is_some());
                }
            }
            runs.push((
                h,
                planned
                    .into_iter()
                    .map(|(_, vars, skip)| skip.is_none().then_some(vars))
                    .collect(),
            ));
        }
        let most = runs.iter().map(|(_, v)| v.len()).max().unwrap_or(0);
        for i in 0..most {
            let mut these = Vec::new();
            for (h, items) in &runs {
                if let Some(Some(vars)) = items.get(i) {
                    // An outer looped include's variables stay visible.
                    let mut all = self.hosts[*h].include_vars.clone();
                    all.extend(vars.clone());
                    these.push((*h, all));
                }
            }
            let group: Vec<usize> = these.iter().map(|(h, _)| *h).collect();
            if self.active(&group).is_empty() {
                continue;
            }
            let mut saved = Vec::new();
            for (h, vars) in these {
                saved.push((h, std::mem::replace(&mut self.hosts[h].include_vars, vars)));
            }
            let flow = self.run_nodes(&inc.body, &group, pc, rescuable).await;
            for (h, vars) in saved {
                self.hosts[h].include_vars = vars;
            }
            if flow == Flow::EndPlay {
                return flow;
            }
        }
        Flow::Continue
    }

    fn render_string(&self, s: &str, ctx: &Context) -> Result<String, String> {
        match self.templar.render_str(s, ctx).map_err(|e| e.to_string())? {
            Value::String(s) => Ok(s),
            other => Ok(other.to_string()),
        }
    }

    fn run_task<'s>(
        &'s mut self,
        task: &'s Task,
        hosts: &'s [usize],
        pc: &'s PlayCtx<'s>,
        rescuable: bool,
        handler: bool,
    ) -> futures::future::BoxFuture<'s, Flow> {
        Box::pin(self.run_task_inner(task, hosts, pc, rescuable, handler))
    }

    async fn run_task_inner(
        &mut self,
        task: &Task,
        hosts: &[usize],
        pc: &PlayCtx<'_>,
        rescuable: bool,
        handler: bool,
    ) -> Flow {
        if !handler {
            if !self.started {
                let want = self.opts.start_at_task.as_deref().unwrap_or("");
                if task.name.as_deref() == Some(want) || task.display_name() == want {
                    self.started = true;
                } else {
                    return Flow::Continue;
                }
            }
            if !self.selected_by_tags(task) {
                return Flow::Continue;
            }
        }
        self.gather_pending(hosts, pc).await;
        let mut hosts = self.active(hosts);
        if hosts.is_empty() {
            return Flow::Continue;
        }
        if let Action::Meta(what) = &task.action {
            return self.run_meta(task, what, &hosts, pc).await;
        }
        let title = self.task_title(task, pc);
        self.report
            .task(&title, if handler { "RUNNING HANDLER" } else { "TASK" });
        let run_once = {
            let ctx = Context::new(&Map::new());
            self.flag(&task.common.run_once, &ctx, false)
                .unwrap_or(false)
        };
        let all_hosts = hosts.clone();
        if run_once {
            hosts.truncate(1);
        }
        let hostvars = self.hostvars();
        let mut plans: Vec<HostPlan> = hosts
            .iter()
            .map(|&h| self.plan_host(task, h, pc, &hostvars))
            .collect();
        // Phase 2: programs to hosts, all at once.
        let all: Vec<usize> = (0..plans.len()).collect();
        let mut by_plan = self.exec_plans(&plans, &all, task).await;
        if task.until.is_some() {
            self.retry_until(task, &plans, &mut by_plan).await;
        }
        // Phase 3: results, in inventory order.
        let mut flow = Flow::Continue;
        let mut first_registered: Option<(Value, Option<Map<String, Value>>)> = None;
        for (pi, plan) in plans.iter_mut().enumerate() {
            let out = by_plan.remove(&pi);
            let (registered, facts) = self.finish_host(task, plan, out, rescuable, handler);
            if run_once && first_registered.is_none() {
                first_registered = Some((registered, facts));
            }
        }
        if let (true, Some((reg, facts))) = (run_once, first_registered) {
            // Ansible fails every host of the batch with the one that ran the
            // task (so each goes to its rescue), counting the failure on that
            // one alone.
            let failed = self.hosts[all_hosts[0]].failed;
            for &h in all_hosts.iter().skip(1) {
                if let Some(name) = &task.register {
                    self.hosts[h].host_facts.insert(name.clone(), reg.clone());
                }
                if let Some(f) = &facts {
                    self.hosts[h].host_facts.extend(f.clone());
                }
                if failed {
                    self.hosts[h].failed = true;
                }
            }
        }
        let any_fatal = {
            let ctx = Context::new(&Map::new());
            self.flag(
                &task.common.any_errors_fatal,
                &ctx,
                pc.play.any_errors_fatal,
            )
            .unwrap_or(false)
        };
        if any_fatal
            && all_hosts
                .iter()
                .any(|&h| self.hosts[h].failed || self.hosts[h].unreachable)
            && !rescuable
        {
            flow = Flow::EndPlay;
        }
        flow
    }

    /// Whether a task can share a round trip with the tasks around it: its
    /// arguments and conditions cannot depend on the results of the tasks
    /// before it in the batch (nothing is registered or set as a fact), and
    /// no decision on the controller must come between it and the next task
    /// (retries, delegation, run_once, failed_when, fatal errors).
    fn batchable(&self, t: &Task, pc: &PlayCtx<'_>) -> bool {
        let c = &t.common;
        self.started
            && self.selected_by_tags(t)
            && !pc.play.any_errors_fatal
            && pc.play.max_fail_percentage.is_none()
            && matches!(&t.action, Action::Module { module, .. } if !sets_variables(module.name()))
            && t.register.is_none()
            && t.until.is_none()
            && t.failed_when.is_none()
            && c.delegate_to.is_none()
            && c.run_once.is_none()
            && c.any_errors_fatal.is_none()
    }

    /// Runs batchable tasks (see [`Runner::batchable`]) in one round trip per
    /// host: all are planned first (nothing they depend on can change in
    /// between), each host's programs go as one chain in which a program
    /// runs only if the one before it succeeded, then results are reported
    /// task by task, exactly as if the tasks had run one after the other.
    async fn run_batch(
        &mut self,
        tasks: &[&Task],
        hosts: &[usize],
        pc: &PlayCtx<'_>,
        rescuable: bool,
    ) -> Flow {
        let mut rest = tasks;
        while !rest.is_empty() {
            let done = self.run_batch_part(rest, hosts, pc, rescuable).await;
            rest = &rest[done..];
        }
        Flow::Continue
    }

    /// Runs the first tasks of a batch; returns how many. Facts still
    /// pending on a host travel in front of its tasks, in the same round
    /// trip, as long as planning the tasks looked up no fact: the tasks are
    /// planned with a probe on top of each such host's variables, and the
    /// batch ends before the first task whose plan needed one. When even the
    /// first did, the facts are gathered on their own first (0 tasks run).
    async fn run_batch_part(
        &mut self,
        tasks: &[&Task],
        hosts: &[usize],
        pc: &PlayCtx<'_>,
        rescuable: bool,
    ) -> usize {
        let hosts = self.active(hosts);
        if hosts.is_empty() {
            return tasks.len();
        }
        let pending: Vec<bool> = hosts.iter().map(|&h| self.hosts[h].facts_pending).collect();
        let hit = pending.contains(&true).then(|| {
            let (probe, hit) = Shared::probe(facts::lookup_names());
            self.fact_probe = Some(probe);
            hit
        });
        let hostvars = self.hostvars();
        let mut plans: Vec<Vec<HostPlan>> = Vec::with_capacity(tasks.len());
        for t in tasks {
            let per_host: Vec<HostPlan> = hosts
                .iter()
                .map(|&h| self.plan_host(t, h, pc, &hostvars))
                .collect();
            if let Some(hit) = &hit {
                // changed_when is judged after the run, with these plans'
                // variables (no facts); templated connection variables are
                // rendered from them too.
                let needs_facts = hit.swap(false, std::sync::atomic::Ordering::Relaxed)
                    || t.changed_when.is_some()
                    || per_host.iter().any(|p| templated_connection(&p.vars));
                if needs_facts {
                    break;
                }
            }
            plans.push(per_host);
        }
        self.fact_probe = None;
        if plans.is_empty() {
            self.gather_pending(&hosts, pc).await;
            return 0;
        }
        let count = plans.len();
        let tasks = &tasks[..count];
        // Each host's chain: the tasks with a program, up to the first task
        // already known to fail on the controller (its later tasks must not run).
        let mut jobs = Vec::new();
        for (hi, &h) in hosts.iter().enumerate() {
            let mut chain: Vec<(usize, Vec<u8>, Option<Become>)> = Vec::new();
            for (ti, per_task) in plans.iter().enumerate() {
                let p = &per_task[hi];
                if !p.bodies.is_empty() && p.error.is_none() {
                    chain.push((ti, plan_program(p), p.become_.clone()));
                }
                let fails_here = p.error.is_some()
                    || p.items.iter().any(|i| match &i.state {
                        ItemState::Error(_) => true,
                        ItemState::Done(o) => o.failed,
                        _ => false,
                    });
                if fails_here {
                    break;
                }
            }
            if pending[hi] {
                // Gathered as the user the tasks run as, as Ansible gathers
                // with the play's become.
                let become_ = chain.first().and_then(|c| c.2.clone());
                chain.insert(0, (FACTS, facts_program(), become_));
            }
            if chain.is_empty() {
                continue;
            }
            let name = self.hosts[h].name.clone();
            let target = self.target_for(&name, &plans[0][hi].vars, &pc.magic);
            jobs.push((hi, self.conn_cell(&name), target, chain));
        }
        // Many plans wait here at once: keep what finishing them needs (the
        // context, the items), not a second copy of every variable.
        for (ti, per_task) in plans.iter_mut().enumerate() {
            for p in per_task.iter_mut() {
                if !p.bodies.is_empty() {
                    let name = self.hosts[p.host].name.clone();
                    p.target = Some(self.target_for(&name, &p.vars, &p.magic));
                }
                if tasks[ti].changed_when.is_none() {
                    p.vars = Map::new();
                }
            }
        }
        let ctl = self.control_dir.path().to_path_buf();
        let progress = super::progress::Progress::new(self.report.printer);
        let me = &*self;
        let host_list = &hosts;
        let ran: Vec<(usize, TaskOutputs)> =
            futures::stream::iter(jobs.into_iter().map(|(hi, cell, target, chain)| {
                let ctl = ctl.clone();
                let bar = progress.host(&self.hosts[hosts[hi]].name);
                async move {
                    let r = match connect(&cell, target, &ctl).await {
                        Ok(conn) => {
                            let progs: Vec<(&[u8], Option<&Become>)> = chain
                                .iter()
                                .map(|(_, p, b)| (p.as_slice(), b.as_ref()))
                                .collect();
                            let before = conn.round_trips();
                            let r = conn.exec_chain(&progs).await;
                            let what: Vec<String> = chain
                                .iter()
                                .map(|(ti, _, _)| match *ti {
                                    FACTS => "Gathering Facts".to_string(),
                                    ti => tasks[ti].display_name(),
                                })
                                .collect();
                            let name = &me.hosts[host_list[hi]].name;
                            me.trace_trips(name, conn.round_trips() - before, &what);
                            r
                        }
                        Err(e) => Err(ConnError::Unreachable(e)),
                    };
                    drop(bar);
                    let outs = match r {
                        Ok(outs) => chain
                            .iter()
                            .zip(outs)
                            .filter_map(|((ti, _, _), o)| o.map(|o| (*ti, Ok(o))))
                            .collect(),
                        // Unreachable: the first task reports it, the host is then out.
                        Err(e) => vec![(chain[0].0, Err(e))],
                    };
                    (hi, outs)
                }
            }))
            .buffer_unordered(self.opts.forks.max(1))
            .collect()
            .await;
        progress.clear();
        let mut outs: HashMap<(usize, usize), Result<ExecOutput, ConnError>> = HashMap::new();
        for (hi, list) in ran {
            for (ti, o) in list {
                outs.insert((ti, hi), o);
            }
        }
        if hit.is_some() {
            self.report.task("Gathering Facts", "TASK");
            for (hi, &h) in hosts.iter().enumerate() {
                if pending[hi] {
                    self.hosts[h].facts_pending = false;
                    let out = match outs.remove(&(FACTS, hi)) {
                        Some(r) => r.map_err(|e| e.to_string()),
                        None => Err("no answer to the facts program".to_string()),
                    };
                    self.take_facts(h, out);
                }
            }
        }
        for (ti, task) in tasks.iter().enumerate() {
            let active: Vec<usize> = (0..hosts.len())
                .filter(|&hi| {
                    let st = &self.hosts[hosts[hi]];
                    !st.failed && !st.unreachable && !st.ended
                })
                .collect();
            if active.is_empty() {
                break;
            }
            let title = self.task_title(task, pc);
            self.report.task(&title, "TASK");
            // A program the host's chain did not run although every task
            // before it succeeded here (ignore_errors, say) runs now, alone.
            let missing: Vec<usize> = active
                .iter()
                .copied()
                .filter(|&hi| {
                    let p = &plans[ti][hi];
                    !p.bodies.is_empty() && p.error.is_none() && !outs.contains_key(&(ti, hi))
                })
                .collect();
            if !missing.is_empty() {
                for (hi, o) in self.exec_plans(&plans[ti], &missing, task).await {
                    outs.insert((ti, hi), o);
                }
            }
            for &hi in &active {
                let out = outs.remove(&(ti, hi));
                self.finish_host(task, &mut plans[ti][hi], out, rescuable, false);
            }
        }
        count
    }

    /// Sends the programs of the given plans to their hosts, all at once
    /// (up to `forks`), opening connections on first use.
    async fn exec_plans(
        &self,
        plans: &[HostPlan],
        which: &[usize],
        task: &Task,
    ) -> HashMap<usize, Result<ExecOutput, ConnError>> {
        let mut jobs = Vec::new();
        for &pi in which {
            let p = &plans[pi];
            if p.error.is_some() || p.bodies.is_empty() {
                continue;
            }
            let own = &self.hosts[p.host].name;
            // Outputs of several programs are merged, so every item must
            // report its own status (see protocol::task_program).
            let split = p.delegates.iter().any(|d| *d != p.delegates[0]);
            // One program per connection the items go to, in item order.
            let mut runs = Vec::new();
            let mut start = 0;
            while start < p.bodies.len() {
                let conn = &p.delegates[start];
                let end = (start..p.bodies.len())
                    .find(|&i| p.delegates[i] != *conn)
                    .unwrap_or(p.bodies.len());
                let conn_name = conn.clone().unwrap_or_else(|| own.clone());
                let target = match (&p.target, conn) {
                    (Some(t), None) => t.clone(),
                    _ => self.target_for(&conn_name, &p.vars, &p.magic),
                };
                let program = items_program(p, &p.bodies[start..end], split);
                runs.push((end - start, self.conn_cell(&conn_name), target, program));
                start = end;
            }
            jobs.push((pi, runs, p.become_.clone()));
        }
        let ctl = self.control_dir.path().to_path_buf();
        let progress = super::progress::Progress::new(self.report.printer);
        let results = futures::stream::iter(jobs.into_iter().map(|(pi, runs, become_)| {
            let ctl = ctl.clone();
            let bar = progress.host(&self.hosts[plans[pi].host].name);
            async move {
                // A host's runs go one after the other, as its loop items would.
                let mut outs = Vec::with_capacity(runs.len());
                let last = runs.len() - 1;
                for (i, (n, cell, target, program)) in runs.into_iter().enumerate() {
                    let r = match connect(&cell, target, &ctl).await {
                        Ok(conn) => {
                            let before = conn.round_trips();
                            let r = conn.exec(&program, become_.as_ref()).await;
                            let name = &self.hosts[plans[pi].host].name;
                            let what = [task.display_name()];
                            self.trace_trips(name, conn.round_trips() - before, &what);
                            r
                        }
                        Err(e) => Err(ConnError::Unreachable(e)),
                    };
                    let stop = i < last
                        && match &r {
                            Ok(o) => !complete(o, n),
                            Err(_) => true,
                        };
                    outs.push(r);
                    if stop {
                        break;
                    }
                }
                drop(bar);
                (pi, merge_outputs(outs))
            }
        }))
        .buffer_unordered(self.opts.forks.max(1))
        .collect()
        .await;
        progress.clear();
        results
    }

    /// `hosts:` and `serial:` with their templates rendered: these decide which
    /// hosts run, so only play-level variables (play vars, vars_files, extra
    /// vars) are there, as in Ansible.
    fn play_keywords(
        &self,
        play: &Play,
        vars_files: &Map<String, Value>,
    ) -> Result<(String, Vec<Serial>), String> {
        let mut vars = play.vars.clone();
        vars.extend(vars_files.clone());
        vars.extend(self.opts.extra_vars.clone());
        let ctx = Context::new(&vars);
        let at = play.loc.to_string();
        let render = |what: &str, text: &str| -> Result<String, String> {
            match self.templar.render_str(text, &ctx) {
                Ok(Value::String(s)) => Ok(s),
                Ok(Value::Number(n)) => Ok(n.to_string()),
                Ok(other) => Err(format!(
                    "{at}: {what}: {text:?} rendered to {other}, expected text"
                )),
                Err(e) => Err(format!("{at}: {what}: {e}")),
            }
        };
        let pattern = if play.hosts.contains("{{") {
            render("hosts", &play.hosts)?
        } else {
            play.hosts.clone()
        };
        let serial = play
            .serial
            .iter()
            .map(|s| match s {
                Serial::Template(t) => {
                    Serial::parse_text(&render("serial", t)?).map_err(|e| format!("{at}: {e}"))
                }
                other => Ok(other.clone()),
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok((pattern, serial))
    }

    /// The name in a task's header, rendered like Ansible's: with the
    /// variables that do not depend on a host (play, role, extra vars); a
    /// name that needs a host's variables is shown as written.
    fn task_title(&self, task: &Task, pc: &PlayCtx<'_>) -> String {
        let raw = task.display_name();
        if !Templar::is_template(&raw) {
            return raw;
        }
        let empty = Map::new();
        let layers = HostLayers {
            inventory: &empty,
            facts: None,
            host_facts: &empty,
        };
        let vars = vars::assemble(pc.pv, &layers, Some(task), &self.opts.extra_vars);
        match self.templar.render_str(&raw, &Context::new(&vars)) {
            Ok(Value::String(s)) => s,
            _ => raw,
        }
    }

    /// A number keyword of a task (`retries`, `delay`), rendered for one host.
    fn task_number(&self, n: &Templated<u32>, what: &str, ctx: &Context) -> Result<u32, String> {
        match n {
            Templated::Value(v) => Ok(*v),
            Templated::Template(t) => match self.templar.render_str(t, ctx) {
                Ok(Value::Number(n)) if n.as_u64().is_some() => Ok(n.as_u64().unwrap_or(0) as u32),
                Ok(Value::String(s)) if s.trim().parse::<u32>().is_ok() => {
                    Ok(s.trim().parse().unwrap_or(0))
                }
                Ok(other) => Err(format!(
                    "{what}: {t:?} rendered to {other}, expected a whole number"
                )),
                Err(e) => Err(format!("{what}: {e}")),
            },
        }
    }

    /// `until:` with `retries` and `delay`: runs the task again on the hosts
    /// whose result does not satisfy the condition yet.
    async fn retry_until(
        &self,
        task: &Task,
        plans: &[HostPlan],
        by_plan: &mut HashMap<usize, Result<ExecOutput, ConnError>>,
    ) {
        let Some(cond) = &task.until else { return };
        let Action::Module { module, .. } = &task.action else {
            return;
        };
        // Rendered with the first host's variables: the loop is one for all hosts.
        let numbers = plans.first().map(|p| {
            (
                self.task_number(&task.retries, "retries", &p.ctx),
                self.task_number(&task.delay, "delay", &p.ctx),
            )
        });
        let (retries, delay) = match numbers {
            Some((Ok(r), Ok(d))) => (r, d),
            Some((Err(e), _) | (_, Err(e))) => {
                self.report
                    .warn(&format!("{}: {e}; not retrying", task.display_name()));
                return;
            }
            None => return,
        };
        for attempt in 1..=retries {
            let pending: Vec<usize> = by_plan
                .iter()
                .filter(|(pi, out)| {
                    let Ok(out) = out else { return false };
                    let plan = &plans[**pi];
                    let raws = protocol::parse_unit(&out.stdout, &out.stderr, out.finished());
                    let (Some(raw), Some(args)) = (
                        raws.into_iter().next(),
                        plan.items.first().and_then(|i| i.args.as_ref()),
                    ) else {
                        return false;
                    };
                    let reg = module.finish(args, raw).to_registered();
                    let ctx = result_ctx(plan, None, &reg, task.register.as_ref());
                    !self.templar.eval_bool(cond, &ctx).unwrap_or(false)
                })
                .map(|(pi, _)| *pi)
                .collect();
            if pending.is_empty() {
                return;
            }
            for &pi in &pending {
                let left = retries - attempt + 1;
                self.report.printer.line(&format!(
                    "FAILED - RETRYING: [{}]: {} ({left} retries left).",
                    self.hosts[plans[pi].host].name,
                    task.display_name()
                ));
            }
            tokio::time::sleep(std::time::Duration::from_secs(u64::from(delay))).await;
            by_plan.extend(self.exec_plans(plans, &pending, task).await);
        }
    }

    async fn run_meta(
        &mut self,
        task: &Task,
        what: &str,
        hosts: &[usize],
        pc: &PlayCtx<'_>,
    ) -> Flow {
        // A meta task obeys `when`, like Ansible's end_host/end_play.
        let mut selected = Vec::new();
        let hostvars = self.hostvars();
        for &h in hosts {
            let (_, ctx) = self.vars_for(h, pc, Some(task), &hostvars);
            if task
                .common
                .when
                .iter()
                .all(|c| self.templar.eval_bool(c, &ctx).unwrap_or(false))
            {
                selected.push(h);
            }
        }
        match what {
            "flush_handlers" => self.flush_handlers(hosts, pc).await,
            "end_play" if !selected.is_empty() => return Flow::EndPlay,
            "end_host" => {
                for h in selected {
                    self.hosts[h].ended = true;
                }
            }
            "clear_host_errors" => {
                for h in selected {
                    self.hosts[h].failed = false;
                }
            }
            _ => {}
        }
        Flow::Continue
    }

    /// Phase 3 for one host; returns what it registered (for run_once).
    fn finish_host(
        &mut self,
        task: &Task,
        plan: &mut HostPlan,
        out: Option<Result<ExecOutput, ConnError>>,
        rescuable: bool,
        handler: bool,
    ) -> (Value, Option<Map<String, Value>>) {
        let h = plan.host;
        let name = self.hosts[h].name.clone();
        if let Some(err) = &plan.error {
            let reg = json!({"failed": true, "changed": false, "msg": err});
            self.record(h, task, Status::Failed, &reg, &[], plan, rescuable, &[]);
            return (reg, None);
        }
        if plan.skipped_all
            || plan
                .items
                .iter()
                .all(|i| matches!(i.state, ItemState::Skipped))
        {
            let reg = skipped_result(task, &plan.items);
            if let Some(r) = &task.register {
                self.hosts[h].host_facts.insert(r.clone(), reg.clone());
            }
            let item_lines: Vec<(String, Status, Value)> = plan
                .items
                .iter()
                .filter_map(|i| i.label.clone().map(|l| (l, Status::Skipped, json!({}))))
                .collect();
            self.record(
                h,
                task,
                Status::Skipped,
                &reg,
                &item_lines,
                plan,
                rescuable,
                &[],
            );
            return (reg, None);
        }
        let mut raws = match out {
            Some(Ok(o)) => {
                let parsed = protocol::parse_unit(&o.stdout, &o.stderr, o.finished());
                if parsed.len() < plan.bodies.len() || parsed.iter().any(|r| r.status.is_none()) {
                    let stderr = String::from_utf8_lossy(&o.stderr).trim().to_string();
                    let msg = if o.status.is_none() || o.status == Some(255) {
                        format!("the connection to {name} broke during the task: {stderr}")
                    } else {
                        format!(
                            "the task's program stopped early (exit {}): {stderr}",
                            o.status.unwrap_or(-1)
                        )
                    };
                    if o.status.is_none() || o.status == Some(255) {
                        self.unreachable(h, task, &msg, plan);
                        return (json!({"unreachable": true, "msg": msg}), None);
                    }
                    let reg = json!({"failed": true, "changed": false, "msg": msg});
                    let status = if plan.ignore_errors {
                        Status::Ignored
                    } else {
                        Status::Failed
                    };
                    self.record(h, task, status, &reg, &[], plan, rescuable, &[]);
                    return (reg, None);
                }
                parsed.into_iter().map(Some).collect::<Vec<_>>()
            }
            Some(Err(ConnError::Unreachable(msg))) | Some(Err(ConnError::Lost(msg))) => {
                self.unreachable(h, task, &msg, plan);
                return (json!({"unreachable": true, "msg": msg}), None);
            }
            Some(Err(e)) => {
                self.unreachable(h, task, &e.to_string(), plan);
                return (json!({"unreachable": true}), None);
            }
            None => Vec::new(),
        };
        let Action::Module { module, .. } = &task.action else {
            return (Value::Null, None);
        };
        let mut results: Vec<ItemResult> = Vec::new();
        for ip in plan.items.drain(..) {
            let (outcome, ran) = match ip.state {
                ItemState::Skipped => {
                    let mut o = Outcome {
                        skipped: true,
                        ..Outcome::ok()
                    };
                    if let Value::Object(m) = skip_result(ip.false_condition.as_deref()) {
                        o.ret = m;
                        o.ret.remove("changed");
                        o.ret.remove("skipped");
                    }
                    (o, false)
                }
                ItemState::Done(o) => (o, true),
                ItemState::Error(e) => (Outcome::fail(e), true),
                ItemState::Remote(i) => {
                    let raw = raws.get_mut(i).and_then(Option::take).unwrap_or_default();
                    let args = ip.args.as_ref().expect("remote items have args");
                    let o = module.finish(args, raw);
                    for secret in &o.secrets {
                        self.report.printer.add_secret(secret);
                    }
                    (o, true)
                }
            };
            results.push((ip.label, ip.item, outcome, ran));
        }
        // changed_when / failed_when, with the registered name bound to this result.
        for (_, item, o, ran) in results.iter_mut() {
            if !*ran || o.skipped {
                continue;
            }
            if task.changed_when.is_none() && task.failed_when.is_none() && task.until.is_none() {
                continue;
            }
            let reg = o.to_registered();
            let ctx = result_ctx(plan, item.as_ref(), &reg, task.register.as_ref());
            if let Some(conds) = &task.changed_when {
                match conds.iter().try_fold(true, |acc, c| {
                    self.templar.eval_bool(c, &ctx).map(|b| acc && b)
                }) {
                    Ok(b) => o.changed = b,
                    Err(e) => *o = Outcome::fail(format!("changed_when: {e}")),
                }
            }
            if let Some(conds) = &task.failed_when {
                match conds.iter().try_fold(true, |acc, c| {
                    self.templar.eval_bool(c, &ctx).map(|b| acc && b)
                }) {
                    Ok(b) => {
                        o.failed = b;
                        if b && o.msg.is_none() {
                            o.msg = Some("failed_when condition was true".into());
                        }
                        if !b {
                            o.msg = o.msg.take().filter(|m| m != "non-zero return code");
                        }
                    }
                    Err(e) => *o = Outcome::fail(format!("failed_when: {e}")),
                }
            }
            if let Some(until) = &task.until {
                if !o.failed && !self.templar.eval_bool(until, &ctx).unwrap_or(false) {
                    o.failed = true;
                    o.msg = Some(format!(
                        "retries exhausted ({} attempts): {until} is still false",
                        self.task_number(&task.retries, "retries", &ctx)
                            .unwrap_or(0)
                            + 1
                    ));
                }
            }
        }
        let looped = task.loop_.is_some();
        let any_failed = results.iter().any(|(_, _, o, _)| o.failed);
        let any_changed = results.iter().any(|(_, _, o, _)| o.changed && !o.failed);
        let all_skipped = results.iter().all(|(_, _, o, _)| o.skipped);
        let mut facts: Option<Map<String, Value>> = None;
        let mut diffs = Vec::new();
        for (_, _, o, _) in &results {
            if let Some(f) = &o.facts {
                facts.get_or_insert_with(Map::new).extend(f.clone());
            }
            diffs.extend(o.diffs.iter().cloned());
        }
        let registered = if looped {
            let list: Vec<Value> = results
                .iter()
                .map(|(_, item, o, _)| {
                    let mut r = o.to_registered();
                    if let (Value::Object(m), Some((k, v))) = (&mut r, item) {
                        m.insert(k.clone(), v.clone());
                        m.insert("item".into(), v.clone());
                        m.insert("ansible_loop_var".into(), Value::String(k.clone()));
                    }
                    r
                })
                .collect();
            // Ansible sets `skipped` on every looped result (false when an item ran).
            json!({"results": list, "changed": any_changed, "failed": any_failed, "skipped": all_skipped, "msg": if any_failed { "One or more items failed" } else { "All items completed" }})
        } else {
            results
                .first()
                .map(|(_, _, o, _)| o.to_registered())
                .unwrap_or(Value::Null)
        };
        let status = if any_failed {
            if plan.ignore_errors {
                Status::Ignored
            } else {
                Status::Failed
            }
        } else if all_skipped {
            Status::Skipped
        } else if any_changed {
            Status::Changed
        } else {
            Status::Ok
        };
        let item_lines: Vec<(String, Status, Value)> = if looped {
            results
                .iter()
                .map(|(label, _, o, _)| {
                    let st = if o.failed {
                        Status::Failed
                    } else if o.skipped {
                        Status::Skipped
                    } else if o.changed {
                        Status::Changed
                    } else {
                        Status::Ok
                    };
                    (label.clone().unwrap_or_default(), st, o.to_registered())
                })
                .collect()
        } else {
            Vec::new()
        };
        if task.module_name() == "debug" && !looped && status == Status::Ok && !plan.no_log {
            let st = &mut self.hosts[h];
            st.stats.count(Status::Ok, false);
            if let Some(r) = &task.register {
                st.host_facts.insert(r.clone(), registered.clone());
            }
            self.report.debug(&name, &registered);
            return (registered, None);
        }
        if let Some(f) = &facts {
            if !any_failed {
                self.hosts[h].host_facts.extend(f.clone());
            }
        }
        if let Some(r) = &task.register {
            self.hosts[h]
                .host_facts
                .insert(r.clone(), registered.clone());
        }
        if any_changed && !any_failed && !task.notify.is_empty() {
            let ctx = plan.ctx.clone();
            for n in &task.notify {
                let n = self.render_string(n, &ctx).unwrap_or_else(|_| n.clone());
                self.hosts[h].notified.push(n);
            }
        }
        let _ = handler;
        self.record(
            h,
            task,
            status,
            &registered,
            &item_lines,
            plan,
            rescuable,
            &diffs,
        );
        (registered, facts)
    }

    fn unreachable(&mut self, h: usize, task: &Task, msg: &str, plan: &HostPlan) {
        let ignore = {
            let ctx = plan.ctx.clone();
            self.flag(&task.common.ignore_unreachable, &ctx, false)
                .unwrap_or(false)
        };
        let st = &mut self.hosts[h];
        if ignore {
            st.stats.skipped += 1;
            return;
        }
        st.unreachable = true;
        st.stats.count(Status::Unreachable, false);
        let name = st.name.clone();
        self.report.host_result(
            &name,
            Status::Unreachable,
            &json!({"msg": msg, "changed": false}),
            &[],
            false,
            &[],
        );
    }

    #[allow(clippy::too_many_arguments)]
    fn record(
        &mut self,
        h: usize,
        task: &Task,
        status: Status,
        reg: &Value,
        items: &[(String, Status, Value)],
        plan: &HostPlan,
        rescuable: bool,
        diffs: &[modules::Diff],
    ) {
        let st = &mut self.hosts[h];
        let changed = reg.get("changed").and_then(Value::as_bool).unwrap_or(false);
        match status {
            Status::Failed => {
                st.failed = true;
                if rescuable {
                    st.pending_failure = true;
                } else {
                    st.stats.count(Status::Failed, false);
                }
                if let Some(r) = &task.register {
                    st.host_facts.insert(r.clone(), reg.clone());
                }
            }
            other => st.stats.count(other, changed),
        }
        let name = st.name.clone();
        self.report
            .host_result(&name, status, reg, items, plan.no_log, diffs);
    }
}

/// At most this many (task, host) plans wait in one batch (each holds the
/// host's variables): 30 tasks on 30 hosts, 20 on 50.
const MAX_BATCH_PLANS: usize = 1000;

/// Modules whose results become variables of the host: a task after them
/// must be planned after they ran, so they never share a batch.
fn sets_variables(module: &str) -> bool {
    matches!(
        module,
        "set_fact"
            | "include_vars"
            | "setup"
            | "gather_facts"
            | "add_host"
            | "group_by"
            | "set_stats"
            | "include_tasks"
            | "import_tasks"
            | "include_role"
            | "import_role"
    ) || module.ends_with("_facts")
}

/// One host's results in a batch: (task index, what its program returned).
type TaskOutputs = Vec<(usize, Result<ExecOutput, ConnError>)>;

/// Puts the bodies of a plan that go to the same connection next to each
/// other (connections in the order their first item comes), so that each
/// connection gets one program; the items keep their order within it.
fn group_by_connection(plan: &mut HostPlan, own: &str) {
    let conn = |d: &Option<String>| d.clone().unwrap_or_else(|| own.to_string());
    for d in plan.delegates.iter_mut() {
        if d.as_deref() == Some(own) {
            *d = None;
        }
    }
    if plan.delegates.iter().all(Option::is_none) {
        return;
    }
    let mut order: Vec<usize> = (0..plan.bodies.len()).collect();
    let first = |i: usize| {
        plan.delegates
            .iter()
            .position(|d| conn(d) == conn(&plan.delegates[i]))
            .unwrap_or(i)
    };
    order.sort_by_key(|&i| (first(i), i));
    if order.iter().enumerate().all(|(new, &old)| new == old) {
        return;
    }
    let mut new_index = vec![0; order.len()];
    for (new, &old) in order.iter().enumerate() {
        new_index[old] = new;
    }
    let mut bodies: Vec<Option<String>> = plan.bodies.drain(..).map(Some).collect();
    plan.bodies = order
        .iter()
        .map(|&i| bodies[i].take().unwrap_or_default())
        .collect();
    plan.delegates = order.iter().map(|&i| plan.delegates[i].clone()).collect();
    for ip in &mut plan.items {
        if let ItemState::Remote(i) = &mut ip.state {
            *i = new_index[*i];
        }
    }
}

/// Whether a program's output holds the results of all its `n` bodies.
fn complete(out: &ExecOutput, n: usize) -> bool {
    let raws = protocol::parse_unit(&out.stdout, &out.stderr, out.finished());
    raws.len() >= n && raws.iter().all(|r| r.status.is_some())
}

/// The outputs of one host's programs (one per connection its items went
/// to, in body order) as one output, as if one program had run them all:
/// their records one after the other. Only the last can have broken off
/// (the host's runs stop there); its status then stands for the whole, so
/// the task fails as a single program's would.
fn merge_outputs(mut outs: Vec<Result<ExecOutput, ConnError>>) -> Result<ExecOutput, ConnError> {
    if outs.len() == 1 {
        return outs.pop().expect("one output");
    }
    let mut merged = ExecOutput {
        stdout: Vec::new(),
        stderr: Vec::new(),
        status: Some(0),
        complete: true,
    };
    for o in outs {
        let o = o?;
        merged.stdout.extend_from_slice(&o.stdout);
        merged.stderr.extend_from_slice(&o.stderr);
        merged.complete &= o.complete;
        if o.status != Some(0) {
            merged.status = o.status;
        }
    }
    Ok(merged)
}

/// The facts program's place in a host's chain of tasks.
const FACTS: usize = usize::MAX;

fn facts_program() -> Vec<u8> {
    protocol::task_program(
        &[facts::SCRIPT.to_string()],
        &protocol::ProgramOptions::default(),
    )
    .into_bytes()
}

/// Whether a connection variable is a template (rendered from the plan's
/// variables, which have no facts while those are on their way).
fn templated_connection(vars: &Map<String, Value>) -> bool {
    crate::connection::CONNECTION_VARS.iter().any(|k| {
        vars.get(*k)
            .and_then(Value::as_str)
            .is_some_and(Templar::is_template)
    })
}

/// The program of one task on one host.
fn plan_program(p: &HostPlan) -> Vec<u8> {
    items_program(p, &p.bodies, false)
}

/// A program of some of a plan's bodies, with the plan's settings;
/// `items_apart` when its output is merged with others (see exec_plans).
fn items_program(p: &HostPlan, bodies: &[String], items_apart: bool) -> Vec<u8> {
    protocol::task_program(
        bodies,
        &protocol::ProgramOptions {
            check: p.check,
            diff: p.diff,
            env: &p.env,
            items_apart,
        },
    )
    .into_bytes()
}

/// The context of `changed_when`, `failed_when` and `until`: the task's
/// variables, the loop item, and the result under its registered name (its
/// fields also bare, where no variable has that name).
fn result_ctx(
    plan: &HostPlan,
    item: Option<&(String, Value)>,
    reg: &Value,
    register: Option<&String>,
) -> Context {
    let mut extra = Map::new();
    if let Value::Object(m) = reg {
        for (k, v) in m {
            if !plan.vars.contains_key(k) {
                extra.insert(k.clone(), v.clone());
            }
        }
    }
    if let Some((k, v)) = item {
        extra.insert(k.clone(), v.clone());
    }
    if let Some(r) = register {
        extra.insert(r.clone(), reg.clone());
    }
    plan.ctx.with_raw(&extra)
}

/// A host's items of a looped include: the loop variables of each, or None
/// when `when` skipped it.
type IncludeItems = Vec<Option<Map<String, Value>>>;

/// The variables a loop item sets: the loop variable, the index variable,
/// and `ansible_loop_var`.
fn loop_item_vars(l: &LoopSpec, idx: usize, value: &Value) -> Map<String, Value> {
    let mut vars = Map::new();
    vars.insert(l.loop_var.clone(), value.clone());
    if let Some(iv) = &l.index_var {
        vars.insert(iv.clone(), Value::from(idx));
    }
    vars.insert("ansible_loop_var".into(), Value::String(l.loop_var.clone()));
    vars
}

/// What a task (or loop item) skipped by `when` registers, as ansible-core 2.19.
fn skip_result(false_condition: Option<&str>) -> Value {
    let mut m =
        json!({"changed": false, "skipped": true, "skip_reason": "Conditional result was False"});
    if let Some(c) = false_condition {
        m["false_condition"] = Value::String(c.to_string());
    }
    m
}

/// What a task whose items were all skipped (or had none) registers.
fn skipped_result(task: &Task, items: &[ItemPlan]) -> Value {
    if task.loop_.is_none() {
        return skip_result(items.first().and_then(|i| i.false_condition.as_deref()));
    }
    if items.is_empty() {
        return json!({"changed": false, "skipped": true, "skipped_reason": "No items in the list", "results": []});
    }
    let results: Vec<Value> = items
        .iter()
        .map(|i| {
            let mut r = skip_result(i.false_condition.as_deref());
            if let Some((k, v)) = &i.item {
                r[k.as_str()] = v.clone();
                r["item"] = v.clone();
                r["ansible_loop_var"] = Value::String(k.clone());
            }
            r
        })
        .collect();
    json!({"changed": false, "skipped": true, "msg": "All items skipped", "results": results})
}

/// An item's label, its loop binding, its outcome, and whether it ran.
type ItemResult = (Option<String>, Option<(String, Value)>, Outcome, bool);

/// Ansible's placeholder for `default(omit)`: arguments equal to it are dropped.
pub const OMIT: &str = "__omit_place_holder__condaplay";

struct PlayCtx<'p> {
    play: &'p Play,
    pv: &'p PlayVars,
    /// The play's magic variables for this batch (`groups`, `play_hosts`...).
    magic: Shared,
}

fn search_dirs(task: &Task, playbook_dir: &std::path::Path) -> Vec<PathBuf> {
    let mut v = Vec::new();
    if let Some(r) = &task.role {
        v.push(r.path.clone());
    }
    if let Some(dir) = task.loc.file.parent() {
        v.push(dir.to_path_buf());
    }
    v.push(playbook_dir.to_path_buf());
    v
}

async fn connect(
    cell: &ConnCell,
    target: Target,
    ctl: &std::path::Path,
) -> Result<Arc<Connection>, String> {
    cell.get_or_init(|| async move {
        Connection::open(&target, ctl)
            .await
            .map(Arc::new)
            .map_err(|e| e.to_string())
    })
    .await
    .clone()
}

/// Splits hosts into batches by `serial:` (the last size repeats).
fn batches(hosts: &[usize], serial: &[Serial]) -> Vec<Vec<usize>> {
    if serial.is_empty() {
        return vec![hosts.to_vec()];
    }
    let mut out = Vec::new();
    let mut rest = hosts;
    let mut i = 0;
    while !rest.is_empty() {
        let spec = &serial[i.min(serial.len() - 1)];
        let n = match spec {
            Serial::Count(n) => *n,
            Serial::Percent(p) => ((hosts.len() as f64) * p / 100.0).floor() as usize,
            // Rendered before batching (play_keywords); never reaches here.
            Serial::Template(_) => 1,
        }
        .max(1)
        .min(rest.len());
        out.push(rest[..n].to_vec());
        rest = &rest[n..];
        i += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serial_batches_repeat_the_last_size() {
        let hosts: Vec<usize> = (0..7).collect();
        assert_eq!(
            batches(&hosts, &[Serial::Count(1), Serial::Count(3)]),
            vec![vec![0], vec![1, 2, 3], vec![4, 5, 6]]
        );
        assert_eq!(batches(&hosts, &[Serial::Percent(30.0)]).len(), 4);
        assert_eq!(batches(&hosts, &[]), vec![hosts.clone()]);
    }
}
