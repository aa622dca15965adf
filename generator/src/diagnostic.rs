//! Content problems as values. Every stage pushes into one [`Diagnostics`] list instead of
//! stopping at the first problem, so an artisan sees everything at once.
//!
//! Printed as `path:line:col: message` (1-based, counted in the real file, front matter
//! included), with a hint line when we know what to do about it.

use std::fmt;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
pub enum Severity {
    Error,
    Warning,
}

#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Diagnostic {
    pub severity: Severity,
    /// The file as the user named it: the content folder argument joined with the relative path.
    pub path: String,
    pub line: usize,
    pub col: usize,
    pub message: String,
    pub hint: Option<String>,
}

/// Control characters written visibly (`\n`, `\u{1b}`): a file name can hold any of them, and
/// printed raw a newline forges a whole diagnostic line and an escape sequence reaches the
/// terminal.
pub fn escape_controls(text: &str) -> std::borrow::Cow<'_, str> {
    if !text.chars().any(char::is_control) {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if c.is_control() => out.push_str(&format!("\\u{{{:x}}}", u32::from(c))),
            c => out.push(c),
        }
    }
    std::borrow::Cow::Owned(out)
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let level = match self.severity {
            Severity::Error => "",
            Severity::Warning => "warning: ",
        };
        write!(
            f,
            "{}:{}:{}: {level}{}",
            escape_controls(&self.path),
            self.line,
            self.col,
            escape_controls(&self.message)
        )?;
        if let Some(hint) = &self.hint {
            // A hint may span lines; each stays indented, so none can pass for a diagnostic.
            for (i, line) in hint.split('\n').enumerate() {
                let lead = if i == 0 { "\n    hint: " } else { "\n          " };
                write!(f, "{lead}{}", escape_controls(line))?;
            }
        }
        Ok(())
    }
}

impl From<Vec<Diagnostic>> for Diagnostics {
    fn from(items: Vec<Diagnostic>) -> Diagnostics {
        Diagnostics {
            items,
            deferred: Vec::new(),
        }
    }
}

/// An ordered collection of problems found while building.
#[derive(Clone, Debug, Default)]
pub struct Diagnostics {
    items: Vec<Diagnostic>,
    /// Warnings left where they were kept until the report is made ([`Diagnostics::sorted`]).
    deferred: Vec<Deferred>,
}

/// Warnings that are read only when the report is made: a chalet taken from the validation
/// cache keeps its warnings in its entry (5,000 of them at 1,000 chalets, 2 MB held through
/// the whole rebuild for one line each at its end).
#[derive(Clone)]
pub struct Deferred {
    /// How many: counted without being read.
    pub count: usize,
    /// Reads them; `Err` (a diagnostic saying why) when they are no longer where they were.
    pub read: std::sync::Arc<dyn Fn() -> Result<Vec<Diagnostic>, Diagnostic> + Send + Sync>,
}

impl fmt::Debug for Deferred {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Deferred")
            .field("count", &self.count)
            .finish_non_exhaustive()
    }
}

impl Diagnostics {
    pub fn push(&mut self, d: Diagnostic) {
        self.items.push(d);
    }

    pub fn extend(&mut self, other: Diagnostics) {
        self.items.extend(other.items);
        self.deferred.extend(other.deferred);
    }

    /// Warnings to read when the report is made. (Only warnings: an entry with an error is
    /// never kept, and [`Diagnostics::has_errors`] does not read them.)
    pub fn defer(&mut self, warnings: Deferred) {
        if warnings.count > 0 {
            self.deferred.push(warnings);
        }
    }

    /// Room for `more` problems: a site's are merged from each chalet's (6,000 warnings when
    /// every photo of a large market lacks its alt text).
    pub fn reserve(&mut self, more: usize) {
        self.items.reserve(more);
    }

    pub fn len(&self) -> usize {
        self.items.len() + self.deferred.iter().map(|d| d.count).sum::<usize>()
    }

    pub fn has_errors(&self) -> bool {
        self.items.iter().any(|d| d.severity == Severity::Error)
    }

    pub fn error_count(&self) -> usize {
        self.items.iter().filter(|d| d.severity == Severity::Error).count()
    }

    pub fn warning_count(&self) -> usize {
        self.len() - self.error_count()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Sorted by file, then position, so output is stable whatever order stages ran in; the
    /// deferred warnings read first (in parallel).
    pub fn sorted(mut self) -> Vec<Diagnostic> {
        use rayon::prelude::*;
        let read: Vec<Vec<Diagnostic>> = std::mem::take(&mut self.deferred)
            .into_par_iter()
            .map(|d| (d.read)().unwrap_or_else(|why| vec![why]))
            .collect();
        self.items.reserve(read.iter().map(Vec::len).sum());
        self.items.extend(read.into_iter().flatten());
        self.items.sort_by(|a, b| {
            (a.path.as_str(), a.line, a.col, a.severity, a.message.as_str()).cmp(&(
                b.path.as_str(),
                b.line,
                b.col,
                b.severity,
                b.message.as_str(),
            ))
        });
        self.items.dedup();
        self.items
    }

    /// The problems held, not the deferred warnings.
    pub fn iter(&self) -> impl Iterator<Item = &Diagnostic> {
        self.items.iter()
    }
}

/// Everything printed, one diagnostic per paragraph, then a count line: [`write_report`] as text.
pub fn report(diags: &[Diagnostic]) -> String {
    let mut out = Vec::new();
    let _ = write_report(diags, &mut out);
    String::from_utf8_lossy(&out).into_owned()
}

/// [`report`] written to `w` as it is made: a market whose 6,000 photos all lack their alt text
/// prints 6,000 warnings on every build, one megabyte — formatted in parallel chunks, a few at
/// a time, never held whole.
pub fn write_report(diags: &[Diagnostic], w: &mut dyn std::io::Write) -> std::io::Result<()> {
    use rayon::prelude::*;
    use std::fmt::Write;
    for window in diags.chunks(4 * 512) {
        let parts: Vec<String> = window
            .par_chunks(512)
            .map(|chunk| {
                let mut part = String::with_capacity(chunk.len() * 160);
                for d in chunk {
                    let _ = writeln!(part, "{d}");
                }
                part
            })
            .collect();
        for p in parts {
            w.write_all(p.as_bytes())?;
        }
    }
    let errors = diags.iter().filter(|d| d.severity == Severity::Error).count();
    let warnings = diags.len() - errors;
    if errors + warnings > 0 {
        writeln!(
            w,
            "{errors} error{}, {warnings} warning{}",
            plural(errors),
            plural(warnings)
        )?;
    }
    w.flush()
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

/// The closest candidate to a misspelt name, if one is close enough to be a likely typo.
pub fn did_you_mean<'a>(given: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let given = given.to_lowercase();
    candidates
        .into_iter()
        .map(|c| (strsim::jaro_winkler(&given, c), c))
        .filter(|(score, _)| *score > 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_close_names_only() {
        let keys = ["name", "price", "stock", "kind", "images"];
        assert_eq!(did_you_mean("prise", keys), Some("price"));
        assert_eq!(did_you_mean("Stok", keys), Some("stock"));
        assert_eq!(did_you_mean("colour", keys), None);
    }
}
