//! All user-facing output. Library code hands text to a [`Printer`]; only the
//! printer decides about colour, terminals and JSON.

mod printer;

pub use printer::{Printer, Stream};
