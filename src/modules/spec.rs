//! What arguments a module takes; checked when the playbook is parsed, before
//! anything runs.

/// The type an argument must have after templating.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Str,
    Bool,
    Int,
    List,
    Dict,
    /// A file mode: octal number or string (`0644`, `'u+rw'`).
    Mode,
    /// Anything (passed through as it is).
    Any,
}

#[derive(Debug, Clone, Copy)]
pub struct Arg {
    pub name: &'static str,
    pub kind: Kind,
    pub required: bool,
    pub aliases: &'static [&'static str],
    /// Allowed values of a string argument; empty means any.
    pub choices: &'static [&'static str],
}

impl Arg {
    pub const fn new(name: &'static str, kind: Kind) -> Arg {
        Arg {
            name,
            kind,
            required: false,
            aliases: &[],
            choices: &[],
        }
    }
    pub const fn str(name: &'static str) -> Arg {
        Arg::new(name, Kind::Str)
    }
    pub const fn bool(name: &'static str) -> Arg {
        Arg::new(name, Kind::Bool)
    }
    pub const fn int(name: &'static str) -> Arg {
        Arg::new(name, Kind::Int)
    }
    pub const fn list(name: &'static str) -> Arg {
        Arg::new(name, Kind::List)
    }
    pub const fn dict(name: &'static str) -> Arg {
        Arg::new(name, Kind::Dict)
    }
    pub const fn mode(name: &'static str) -> Arg {
        Arg::new(name, Kind::Mode)
    }
    pub const fn any(name: &'static str) -> Arg {
        Arg::new(name, Kind::Any)
    }
    pub const fn required(mut self) -> Arg {
        self.required = true;
        self
    }
    pub const fn aliases(mut self, aliases: &'static [&'static str]) -> Arg {
        self.aliases = aliases;
        self
    }
    pub const fn choices(mut self, choices: &'static [&'static str]) -> Arg {
        self.choices = choices;
        self
    }
}

/// How a module reads a bare string (`command: ls -l`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FreeForm {
    /// `k=v k=v` only.
    No,
    /// The string is the command; `k=v` words naming known arguments are taken out.
    Command,
    /// The whole string is one value (`debug: msg`? no: `fail: msg=..`; `meta: flush_handlers`).
    Whole,
}

#[derive(Debug)]
pub struct Spec {
    pub args: &'static [Arg],
    pub free_form: FreeForm,
    /// Any argument name is accepted (`set_fact`).
    pub open: bool,
}

impl Spec {
    pub const fn new(args: &'static [Arg]) -> Spec {
        Spec {
            args,
            free_form: FreeForm::No,
            open: false,
        }
    }
    pub const fn open(mut self) -> Spec {
        self.open = true;
        self
    }
    pub const fn free_form(mut self, f: FreeForm) -> Spec {
        self.free_form = f;
        self
    }

    /// The argument a user-written name (or alias) refers to.
    pub fn find(&self, name: &str) -> Option<&Arg> {
        self.args
            .iter()
            .find(|a| a.name == name || a.aliases.contains(&name))
    }

    pub fn names(&self) -> String {
        let mut v: Vec<&str> = self.args.iter().map(|a| a.name).collect();
        v.sort_unstable();
        v.join(", ")
    }
}
