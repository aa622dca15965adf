//! A theme: `themes/<name>/templates/*.html`, `static/` (copied with hashed names) and
//! `i18n/<lang>.yaml` (UI strings). Templates in `content/templates/` override the theme's,
//! file by file. Loading reads files; nothing here renders.

use crate::diagnostic::{Diagnostic, Diagnostics, Severity};
use crate::source::SourceFile;
use chalet_types::Language;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

#[derive(Clone, Debug)]
pub struct Template {
    /// Name templates use to refer to it (`base.html`, `partials/card.html`).
    pub name: String,
    pub file: SourceFile,
}

/// A static file by where it is and the hash of its bytes: its published name carries the
/// hash, and its bytes are read again only when a build publishes it (the application form's
/// WebAssembly alone is 4 MB, held through every build when the bytes were kept).
#[derive(Clone, Debug)]
pub struct StaticFile {
    /// Path under `static/`, `/`-separated.
    pub rel: String,
    pub path: PathBuf,
    /// SHA-256 of its bytes when the theme was loaded.
    pub sha256: [u8; 32],
}

impl StaticFile {
    /// Reads and hashes the file a block at a time.
    fn hashed(rel: String, path: PathBuf) -> std::io::Result<StaticFile> {
        use sha2::{Digest, Sha256};
        let mut file = std::io::BufReader::with_capacity(64 * 1024, std::fs::File::open(&path)?);
        let mut hasher = Sha256::new();
        std::io::copy(&mut file, &mut hasher)?;
        Ok(StaticFile {
            rel,
            path,
            sha256: hasher.finalize().into(),
        })
    }

    /// Its bytes, when they are still those it was loaded with.
    pub fn bytes(&self) -> Result<Vec<u8>, Diagnostic> {
        use sha2::{Digest, Sha256};
        let changed = |message: String| Diagnostic {
            severity: Severity::Error,
            path: self.path.display().to_string(),
            line: 1,
            col: 1,
            message,
            hint: Some("build again: this build did not see the file as it is now".into()),
        };
        let bytes = std::fs::read(&self.path).map_err(|e| changed(format!("cannot be read: {e}")))?;
        if <[u8; 32]>::from(Sha256::digest(&bytes)) != self.sha256 {
            return Err(changed("changed while this build ran".into()));
        }
        Ok(bytes)
    }
}

#[derive(Clone, Debug)]
pub struct Theme {
    pub name: String,
    pub templates: Vec<Template>,
    pub statics: Vec<StaticFile>,
    /// UI strings for the market's language, French filling any gap.
    pub strings: BTreeMap<String, String>,
    /// Where a build published each static file (`style.css` → `assets/style.<hash>.css`),
    /// for a theme without the files (the application form's kit); `None`: named from
    /// `statics`.
    pub published: Option<BTreeMap<String, String>>,
}

/// What a theme's `static/` folder may publish: styles, scripts, pictures, fonts, the web app
/// manifest, the application form's WebAssembly. Anything else (a key, a shell script, a file
/// without a type) stays off the site.
pub const STATIC_TYPES: [&str; 13] = [
    "css",
    "js",
    "svg",
    "png",
    "jpg",
    "jpeg",
    "webp",
    "gif",
    "ico",
    "woff",
    "woff2",
    "webmanifest",
    "wasm",
];

/// Loads the theme; problems (missing theme, unreadable template, missing translations) are
/// diagnostics.
pub fn load(
    themes_dir: &Path,
    name: &str,
    declared_at: &crate::model::Origin,
    overrides: &Path,
    language: Language,
) -> Result<(Theme, Diagnostics), Diagnostics> {
    let mut diags = Diagnostics::default();
    let dir = themes_dir.join(name);
    if !dir.join("templates").is_dir() {
        let mut available: Vec<String> = std::fs::read_dir(themes_dir)
            .map(|rd| {
                rd.filter_map(|e| e.ok())
                    .filter(|e| e.path().join("templates").is_dir())
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default();
        available.sort();
        // Reported where the theme is named, which is what the organiser can change.
        diags.push(Diagnostic {
            severity: Severity::Error,
            path: declared_at.path.clone(),
            line: declared_at.line,
            col: declared_at.col,
            message: format!("theme `{name}` not found (no templates/ folder in {})", dir.display()),
            hint: Some(if available.is_empty() {
                "pass --themes DIR to say where themes live".into()
            } else {
                format!("available themes: {}", available.join(", "))
            }),
        });
        return Err(diags);
    }
    // Every other link in the content folder is refused; the overrides folder is read here,
    // not by the loader, so it is checked here.
    if overrides.symlink_metadata().is_ok_and(|m| m.file_type().is_symlink()) {
        diags.push(Diagnostic {
            severity: Severity::Error,
            path: overrides.display().to_string(),
            line: 1,
            col: 1,
            message: "template overrides cannot be a link".into(),
            hint: Some("make content/templates a folder holding the templates it overrides".into()),
        });
        return Err(diags);
    }
    let mut templates: BTreeMap<String, Template> = BTreeMap::new();
    for (base, _) in [(dir.join("templates"), false), (overrides.to_path_buf(), true)] {
        let listed = match crate::fs::files_under(&base) {
            Ok(l) => l,
            Err(e) => {
                diags.push(io_diag(&base, e));
                continue;
            }
        };
        for (rel, path) in listed {
            if !(rel.ends_with(".html") || rel.ends_with(".xml") || rel.ends_with(".txt")) {
                continue;
            }
            match crate::fs::read_to_string(&path) {
                Ok(text) => {
                    let display = path.display().to_string();
                    templates.insert(
                        rel.clone(),
                        Template {
                            name: rel.clone(),
                            file: SourceFile::new(rel, display, text),
                        },
                    );
                }
                Err(e) => diags.push(io_diag(&path, e)),
            }
        }
    }
    let mut statics = Vec::new();
    let statics_dir = dir.join("static");
    let listed = crate::fs::files_under(&statics_dir).unwrap_or_else(|e| {
        diags.push(io_diag(&statics_dir, e));
        Vec::new()
    });
    for (rel, path) in listed {
        let ext = rel
            .rsplit_once('.')
            .map(|(_, e)| e.to_ascii_lowercase())
            .unwrap_or_default();
        if !STATIC_TYPES.contains(&ext.as_str()) {
            diags.push(Diagnostic {
                severity: Severity::Error,
                path: path.display().to_string(),
                line: 1,
                col: 1,
                message: "a theme may not publish this file".into(),
                hint: Some(format!(
                    "a theme's static/ folder holds only: {}",
                    STATIC_TYPES.join(", ")
                )),
            });
            continue;
        }
        match StaticFile::hashed(rel, path.clone()) {
            Ok(file) => statics.push(file),
            Err(e) => diags.push(io_diag(&path, e)),
        }
    }
    let strings = strings(&dir.join("i18n"), language, &mut diags);
    if diags.has_errors() {
        return Err(diags);
    }
    Ok((
        Theme {
            name: name.to_string(),
            templates: templates.into_values().collect(),
            statics,
            strings,
            published: None,
        },
        diags,
    ))
}

/// French is complete by definition; another language's missing keys fall back to it, with a warning.
fn strings(dir: &Path, language: Language, diags: &mut Diagnostics) -> BTreeMap<String, String> {
    let read = |lang: &str, diags: &mut Diagnostics| -> Option<(BTreeMap<String, String>, SourceFile)> {
        let path = dir.join(format!("{lang}.yaml"));
        let text = std::fs::read_to_string(&path).ok()?;
        let file = SourceFile::new(format!("{lang}.yaml"), path.display().to_string(), text);
        match serde_saphyr::from_str::<BTreeMap<String, String>>(file.text()) {
            Ok(map) => Some((map, file)),
            Err(e) => {
                let (line, col) = crate::yaml::error_position(&e);
                diags.push(Diagnostic {
                    severity: Severity::Error,
                    path: file.display(),
                    line,
                    col,
                    message: format!("translations cannot be read: {}", e.without_snippet()),
                    hint: None,
                });
                None
            }
        }
    };
    let Some((mut base, fr)) = read("fr", diags) else {
        return BTreeMap::new();
    };
    // The function refuses to send a receipt (or tell a chalet) with holes, so say now which
    // words it would lack.
    let no_mail: Vec<&str> = chalet_types::catalogue::RECEIPT_WORDS
        .iter()
        .chain(&chalet_types::catalogue::CHALET_MAIL_WORDS)
        .chain(&chalet_types::catalogue::DIGEST_MAIL_WORDS)
        .chain(&chalet_types::catalogue::HANDOVER_MAIL_WORDS)
        .copied()
        .filter(|k| !base.contains_key(&format!("mail_{k}")))
        .collect();
    if !no_mail.is_empty() {
        diags.push(Diagnostic {
            severity: Severity::Warning,
            path: fr.display(),
            line: 1,
            col: 1,
            message: format!(
                "the e-mails' words are missing, so no receipt (or chalet notice) will be sent: mail_{}",
                no_mail.join(", mail_")
            ),
            hint: Some("copy the `mail_` lines of the default theme's i18n/fr.yaml".into()),
        });
    }
    if language != Language::Fr {
        match read(language.code(), diags) {
            Some((theirs, file)) => {
                let missing: Vec<&String> = base.keys().filter(|k| !theirs.contains_key(*k)).collect();
                if !missing.is_empty() {
                    let list: Vec<&str> = missing.iter().map(|s| s.as_str()).collect();
                    diags.push(Diagnostic {
                        severity: Severity::Warning,
                        path: file.display(),
                        line: 1,
                        col: 1,
                        message: format!(
                            "{} UI strings are missing and shown in French: {}",
                            missing.len(),
                            list.join(", ")
                        ),
                        hint: None,
                    });
                }
                base.extend(theirs);
            }
            None => diags.push(Diagnostic {
                severity: Severity::Warning,
                path: dir.join(format!("{}.yaml", language.code())).display().to_string(),
                line: 1,
                col: 1,
                message: format!(
                    "the theme has no translation for `{}`; UI strings are shown in French",
                    language.code()
                ),
                hint: None,
            }),
        }
    }
    base
}

fn io_diag(path: &Path, e: std::io::Error) -> Diagnostic {
    Diagnostic {
        severity: Severity::Error,
        path: path.display().to_string(),
        line: 1,
        col: 1,
        message: format!("cannot be read: {e}"),
        hint: None,
    }
}

/// A theme as a build of a `serve` session loaded it: taken again while none of its files (nor
/// the content's template overrides) changed — same sizes and times, older than the racy window
/// ([`crate::validate::reuse::RACY_NS`]) when it was loaded — and with it the hashes of its
/// static files.
#[derive(Debug)]
pub struct Kept {
    key: String,
    stamps: Vec<(PathBuf, u64, i128)>,
    loaded_ns: i128,
    theme: Arc<Theme>,
    warnings: Diagnostics,
}

impl Kept {
    /// [`load`], or the theme `kept` holds when nothing it was loaded from changed; `kept` is
    /// left holding what was returned.
    pub fn load(
        kept: &mut Option<Kept>,
        themes_dir: &Path,
        name: &str,
        declared_at: &crate::model::Origin,
        overrides: &Path,
        language: Language,
    ) -> Result<(Arc<Theme>, Diagnostics), Diagnostics> {
        let dirs = [themes_dir.join(name), overrides.to_path_buf()];
        let key = format!("{:?}", (&dirs, name, declared_at, language));
        let stamps = stamps(&dirs).unwrap_or_default();
        if let Some(k) = kept.as_ref()
            && k.key == key
            && k.stamps == stamps
            && stamps
                .iter()
                .all(|(_, _, mtime)| *mtime < k.loaded_ns - crate::validate::reuse::RACY_NS)
        {
            return Ok((k.theme.clone(), k.warnings.clone()));
        }
        let loaded_ns = crate::fs::now_ns();
        let (theme, warnings) = load(themes_dir, name, declared_at, overrides, language)?;
        let theme = Arc::new(theme);
        *kept = Some(Kept {
            key,
            stamps,
            loaded_ns,
            theme: theme.clone(),
            warnings: warnings.clone(),
        });
        Ok((theme, warnings))
    }
}

/// Every file under `dirs` as the theme loader walks them ([`crate::fs::files_under`]), with
/// its size and modification time; `Err` for a folder that cannot be walked.
pub(crate) fn stamps(dirs: &[PathBuf]) -> std::io::Result<Vec<(PathBuf, u64, i128)>> {
    let mut out = Vec::new();
    for dir in dirs {
        for (_, path) in crate::fs::files_under(dir)? {
            let meta = std::fs::metadata(&path).ok();
            let len = meta.as_ref().map_or(0, |m| m.len());
            let mtime = meta.as_ref().map_or(0, crate::fs::mtime_ns);
            out.push((path, len, mtime));
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use sha2::Digest;

    #[test]
    fn a_static_file_is_published_only_with_the_bytes_it_was_named_by() {
        let dir = tempfile::tempdir().expect("tmp");
        let path = dir.path().join("style.css");
        // Larger than one block of the hashing loop.
        let first: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
        std::fs::write(&path, &first).expect("write");
        let file = StaticFile::hashed("style.css".into(), path.clone()).expect("hash");
        let expected: [u8; 32] = sha2::Sha256::digest(&first).into();
        assert_eq!(file.sha256, expected);
        assert_eq!(
            crate::render::published_path("style.css", &file.sha256),
            crate::render::asset_path("style.css", &first)
        );
        assert_eq!(file.bytes().expect("same bytes"), first);
        // Changed after the theme was loaded: its name would lie about it.
        std::fs::write(&path, b"p{}").expect("write");
        let e = file.bytes().expect_err("changed");
        assert!(e.message.contains("changed while this build ran"), "{}", e.message);
        std::fs::remove_file(&path).expect("rm");
        assert!(file.bytes().expect_err("gone").message.contains("cannot be read"));
    }
}
