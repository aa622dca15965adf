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
    /// How every one of their paths begins (their chalet folder, as shown: `content/chalets/x/`),
    /// no other deferred warnings' paths beginning the same: read in the order of these, they
    /// come in report order, a few chalets at a time ([`Diagnostics::for_each_sorted`]).
    pub prefix: Box<str>,
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
    /// deferred warnings read. (The report itself is written as they are read:
    /// [`Diagnostics::write_report`].)
    pub fn sorted(&self) -> Vec<Diagnostic> {
        let mut out = Vec::with_capacity(self.len());
        self.for_each_sorted(|d| out.push(d.clone()));
        out
    }

    /// Each problem in report order — by file, then position, the same one once — with the
    /// deferred warnings read a few chalets at a time (in parallel) and merged in as they come:
    /// 5,000 of them read at once were a rebuild's peak.
    pub fn for_each_sorted(&self, mut each: impl FnMut(&Diagnostic)) {
        use rayon::prelude::*;
        let mut held: Vec<&Diagnostic> = self.items.iter().collect();
        held.sort_by(|a, b| order(a, b));
        let mut held = held.into_iter().peekable();
        let mut groups: Vec<&Deferred> = self.deferred.iter().collect();
        groups.sort_by(|a, b| a.prefix.cmp(&b.prefix));
        let mut last: Option<Diagnostic> = None;
        let mut emit = |d: &Diagnostic| {
            if last.as_ref() != Some(d) {
                each(d);
                last = Some(d.clone());
            }
        };
        for batch in groups.chunks(32) {
            let read: Vec<Vec<Diagnostic>> = batch
                .par_iter()
                .map(|d| {
                    let mut list = (d.read)().unwrap_or_else(|why| vec![why]);
                    list.sort_by(order);
                    list
                })
                .collect();
            for d in read.iter().flatten() {
                // Held first among equals, as a stable sort of the two lists would put them.
                while let Some(h) = held.next_if(|h| order(h, d).is_le()) {
                    emit(h);
                }
                emit(d);
            }
        }
        held.for_each(emit);
    }

    /// [`write_report`] for these problems, written as the deferred warnings are read.
    pub fn write_report(&self, w: &mut dyn std::io::Write) -> std::io::Result<()> {
        let (mut chunk, mut counts, mut result) = (Vec::new(), (0, 0), Ok(()));
        self.for_each_sorted(|d| {
            // After a failed write, nothing more is gathered.
            if result.is_ok() {
                chunk.push(d.clone());
                if chunk.len() == CHUNK {
                    result = write_chunk(&chunk, &mut counts, w);
                    chunk.clear();
                }
            }
        });
        result?;
        write_chunk(&chunk, &mut counts, w)?;
        write_counts(counts, w)
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

/// How report order compares two problems: by file, then position.
fn order(a: &Diagnostic, b: &Diagnostic) -> std::cmp::Ordering {
    fn key(d: &Diagnostic) -> (&str, usize, usize, Severity, &str) {
        (&d.path, d.line, d.col, d.severity, &d.message)
    }
    key(a).cmp(&key(b))
}

/// How many problems [`Diagnostics::write_report`] formats at a time (in parallel).
const CHUNK: usize = 512;

/// [`report`] written to `w` as it is made: a market whose 6,000 photos all lack their alt text
/// prints 6,000 warnings on every build, one megabyte — formatted in parallel chunks, a few at
/// a time, never held whole.
pub fn write_report(diags: &[Diagnostic], w: &mut dyn std::io::Write) -> std::io::Result<()> {
    let mut counts = (0, 0);
    for chunk in diags.chunks(CHUNK) {
        write_chunk(chunk, &mut counts, w)?;
    }
    write_counts(counts, w)
}

/// `chunk` formatted (in parallel) and written, its errors and warnings added to `counts`.
fn write_chunk(chunk: &[Diagnostic], counts: &mut (usize, usize), w: &mut dyn std::io::Write) -> std::io::Result<()> {
    use rayon::prelude::*;
    use std::fmt::Write;
    let parts: Vec<String> = chunk
        .par_chunks(CHUNK / 4)
        .map(|part_of| {
            let mut part = String::with_capacity(part_of.len() * 160);
            for d in part_of {
                let _ = writeln!(part, "{d}");
            }
            part
        })
        .collect();
    for p in parts {
        w.write_all(p.as_bytes())?;
    }
    let errors = chunk.iter().filter(|d| d.severity == Severity::Error).count();
    counts.0 += errors;
    counts.1 += chunk.len() - errors;
    Ok(())
}

/// The report's last line: how many errors and warnings (none when there are none).
fn write_counts((errors, warnings): (usize, usize), w: &mut dyn std::io::Write) -> std::io::Result<()> {
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

    fn warning(path: &str, line: usize, message: &str) -> Diagnostic {
        Diagnostic {
            severity: Severity::Warning,
            path: path.to_string(),
            line,
            col: 1,
            message: message.to_string(),
            hint: None,
        }
    }

    fn deferred(prefix: &str, read: Result<Vec<Diagnostic>, Diagnostic>) -> Deferred {
        Deferred {
            count: read.as_ref().map_or(1, Vec::len),
            prefix: prefix.into(),
            read: std::sync::Arc::new(move || read.clone()),
        }
    }

    /// The deferred warnings, read a few chalets at a time and merged with the held problems,
    /// come out as sorting and deduplicating everything at once would put them.
    #[test]
    fn deferred_warnings_merged_as_read_are_in_report_order() {
        let mut diags = Diagnostics::default();
        let held = [
            warning("content/chalets/b/products/x.md", 3, "held in b"),
            warning("content/market.yaml", 1, "market"),
            warning("content/chalets/a/chalet.yaml", 1, "twice"),
            warning("content/aaa.md", 9, "first of all"),
        ];
        held.iter().cloned().for_each(|d| diags.push(d));
        diags.push(Diagnostic {
            severity: Severity::Error,
            ..warning("content/chalets/b/products/x.md", 3, "an error there")
        });
        let groups = [
            (
                "content/chalets/b/",
                Ok(vec![
                    warning("content/chalets/b/products/z.md", 1, "z"),
                    warning("content/chalets/b/about.md", 2, "about b"),
                ]),
            ),
            (
                "content/chalets/a/",
                Ok(vec![
                    warning("content/chalets/a/products/p.md", 4, "p"),
                    warning("content/chalets/a/chalet.yaml", 1, "twice"),
                ]),
            ),
            (
                "content/chalets/c/",
                Err(warning("content/chalets/c/chalet.yaml", 1, "gone")),
            ),
        ];
        // More groups than one batch reads at once, each with a warning of its own.
        let many: Vec<(String, Result<Vec<Diagnostic>, Diagnostic>)> = (0..70)
            .map(|i| {
                let prefix = format!("content/chalets/m{i:02}/");
                let d = warning(&format!("{prefix}chalet.yaml"), 2, "many");
                (prefix, Ok(vec![d]))
            })
            .collect();
        let mut everything: Vec<Diagnostic> = diags.iter().cloned().collect();
        for (prefix, read) in groups.iter().map(|(p, r)| (p.to_string(), r.clone())).chain(many).rev() {
            everything.extend(read.clone().unwrap_or_else(|why| vec![why]));
            diags.defer(deferred(&prefix, read));
        }
        everything.sort_by(order);
        everything.dedup();
        let sorted = diags.sorted();
        assert_eq!(sorted, everything);
        assert_eq!(sorted.len(), diags.len() - 1, "one said twice");
        assert_eq!(sorted[0].path, "content/aaa.md");
        let mut streamed = Vec::new();
        diags.write_report(&mut streamed).expect("written");
        assert_eq!(String::from_utf8(streamed).expect("utf-8"), report(&everything));
    }

    #[test]
    fn suggests_close_names_only() {
        let keys = ["name", "price", "stock", "kind", "images"];
        assert_eq!(did_you_mean("prise", keys), Some("price"));
        assert_eq!(did_you_mean("Stok", keys), Some("stock"));
        assert_eq!(did_you_mean("colour", keys), None);
    }
}
