//! The incremental state's files: a header — the file's format, this program's version, the
//! build's options — then lines. Read a line at a time, written through a buffer
//! ([`crate::fs::write_atomic_with`]).

use std::io::{BufRead, Read, Write};
use std::path::Path;

/// A state file's lines, one at a time, each without its newline.
pub(super) struct Lines {
    reader: std::io::BufReader<std::fs::File>,
    pub(super) line: String,
}

impl Lines {
    pub(super) fn open(path: &Path) -> std::io::Result<Lines> {
        Ok(Lines {
            reader: std::io::BufReader::with_capacity(64 * 1024, std::fs::File::open(path)?),
            line: String::new(),
        })
    }

    /// `Some(true)` with the next line in `self.line`, `Some(false)` at the end; `None` for a
    /// line cut short or not text: not as this program writes it.
    pub(super) fn next(&mut self) -> Option<bool> {
        self.line.clear();
        match self.reader.read_line(&mut self.line) {
            Ok(0) => Some(false),
            Ok(_) if self.line.ends_with('\n') => {
                self.line.pop();
                Some(true)
            }
            _ => None,
        }
    }

    /// What is left after the lines read, whole (a small state: the lists').
    pub(super) fn rest(mut self) -> Option<String> {
        let mut rest = String::new();
        self.reader.read_to_string(&mut rest).ok()?;
        Some(rest)
    }

    /// Whether the next lines are the state's header for this version and `options`; `Err`
    /// says why not.
    pub(super) fn header(&mut self, format: &str, options: &str) -> Result<(), &'static str> {
        for expected in [format, env!("CARGO_PKG_VERSION")] {
            if self.next() != Some(true) || self.line != expected {
                return Err("the incremental state is from another version of chalet");
            }
        }
        if self.next() != Some(true) || self.line != options {
            return Err("the last build used another theme or other options");
        }
        Ok(())
    }
}

/// The header [`Lines::header`] reads.
pub(super) fn header(w: &mut dyn Write, format: &str, options: &str) -> std::io::Result<()> {
    write!(w, "{format}\n{}\n{options}\n", env!("CARGO_PKG_VERSION"))
}
