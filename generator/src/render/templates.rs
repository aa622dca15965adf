//! The theme's templates loaded into Tera, and Tera's errors shown at the template's line.

use crate::diagnostic::{Diagnostic, Diagnostics, Severity};
use crate::theme::Theme;

/// The theme's templates, every one a page kind needs among them.
pub(super) fn templates(theme: &Theme) -> Result<tera::Tera, Diagnostics> {
    let mut tera = tera::Tera::default();
    tera.autoescape_on([".html", ".xml"]);
    let all = theme.templates.iter().map(|t| (t.name.as_str(), t.file.text()));
    if let Err(e) = tera.add_raw_templates(all) {
        let mut diags = Diagnostics::default();
        diags.push(template_error(theme, "", &e));
        return Err(diags);
    }
    for required in [
        "index.html",
        "chalet.html",
        "product.html",
        "category.html",
        "page.html",
        "sponsors.html",
        "404.html",
    ] {
        if !tera.contains_template(required) {
            let mut diags = Diagnostics::default();
            diags.push(Diagnostic {
                severity: Severity::Error,
                path: format!("themes/{}/templates/{required}", theme.name),
                line: 1,
                col: 1,
                message: format!("the theme has no `{required}` template"),
                hint: None,
            });
            return Err(diags);
        }
    }
    Ok(tera)
}

/// Tera points at problems as `--> name:line:col`; find that to report in the template's file.
fn error_location(message: &str) -> Option<(String, usize, usize)> {
    let at = message.find("--> ")? + 4;
    let rest = message[at..].lines().next()?.trim();
    let mut parts = rest.rsplitn(3, ':');
    let col = parts.next()?.parse().ok()?;
    let line = parts.next()?.parse().ok()?;
    Some((parts.next()?.to_string(), line, col))
}

/// A template problem, shown at the template's file and line with Tera's explanation.
pub(super) fn template_error(theme: &Theme, name: &str, e: &tera::Error) -> Diagnostic {
    let mut full = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        full.push('\n');
        full.push_str(&s.to_string());
        source = s.source();
    }
    let (name, line, col) = error_location(&full).unwrap_or_else(|| (name.to_string(), 1, 1));
    let path = theme
        .templates
        .iter()
        .find(|t| t.name == name)
        .map_or_else(|| format!("templates/{name}"), |t| t.file.display());
    // The first line is the message; Tera's source excerpt follows and is kept as the hint.
    let mut lines = full.lines().map(|l| l.trim_start_matches("error: "));
    let message = lines.next().unwrap_or("template error").to_string();
    let excerpt: Vec<&str> = lines.filter(|l| !l.trim().is_empty()).collect();
    Diagnostic {
        severity: Severity::Error,
        path,
        line,
        col,
        message: format!("template error: {message}"),
        hint: (!excerpt.is_empty()).then(|| excerpt.join("\n")),
    }
}
