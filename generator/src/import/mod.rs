//! `chalet import <zip | folder>`: an artisan's chalet taken into the content folder — read
//! safely ([`archive`]), made tidy ([`strip`], file names), checked with every rule of
//! `chalet check` against this market, and only then written, in one rename.
//!
//! Nothing in the content folder changes until the chalet has passed: the check runs on a copy
//! of the market (its `market.yaml`, pages, images and templates, without the other chalets)
//! in a temporary folder, and the chalet is written beside its final place under a hidden name
//! (which builds skip) and renamed into place.

pub mod application;
pub mod archive;
pub mod strip;

use crate::build::{BuildError, BuildOptions};
use crate::diagnostic::{Diagnostic, Severity};
use archive::{Archive, Entry, Limits, Problem};
use chalet_types::Slug;
use std::io;
use std::path::{Path, PathBuf};

#[derive(Clone, Debug)]
pub struct ImportOptions {
    /// A `.zip` or a folder holding the chalet (its `chalet.yaml` at the top or one folder down).
    pub source: PathBuf,
    pub content: PathBuf,
    /// Where themes live; default: `themes/` next to the content folder.
    pub themes: Option<PathBuf>,
    /// The chalet's slug; default: the chalet folder's name, else the archive's, slugified.
    pub slug: Option<String>,
    /// Replace a chalet of the same slug.
    pub replace: bool,
    /// The zip's SHA-256 as recorded with an online application (`checkout-fn applications`):
    /// a zip that differs (damaged, truncated, replaced) is refused before it is opened.
    pub sha256: Option<String>,
    pub limits: Limits,
}

impl ImportOptions {
    pub fn new(source: impl Into<PathBuf>, content: impl Into<PathBuf>) -> ImportOptions {
        ImportOptions {
            source: source.into(),
            content: content.into(),
            themes: None,
            slug: None,
            replace: false,
            sha256: None,
            limits: Limits::default(),
        }
    }
}

#[derive(Clone, Debug)]
pub struct Imported {
    pub slug: Slug,
    pub dir: PathBuf,
    pub replaced: bool,
    pub files: usize,
    /// What was made tidy on the way in, one sentence each.
    pub changes: Vec<String>,
    /// `chalet check`'s warnings about the new chalet.
    pub warnings: Vec<Diagnostic>,
}

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// The archive or the chalet in it has problems (each by its path in the archive).
    #[error("the chalet was not imported")]
    Refused(Vec<Diagnostic>),
    /// The content folder fails `chalet check` by itself: nothing can be judged against it.
    #[error("the content folder has problems of its own: run `chalet check` and fix them first")]
    ContentBroken(Vec<Diagnostic>),
    #[error("{0} already exists: add --replace to replace it")]
    Exists(PathBuf),
    /// An online application could not be fetched (`chalet import <application-id>`).
    #[error("{0}")]
    Fetch(String),
    #[error(transparent)]
    Io(#[from] io::Error),
}

/// A chalet file as it will be written, and where it came from in the archive.
struct File {
    rel: String,
    data: Vec<u8>,
    origin: String,
}

pub fn import(opts: &ImportOptions) -> Result<Imported, ImportError> {
    let shown = opts.source.display().to_string();
    let in_archive = |p: &str| {
        if p.is_empty() {
            shown.clone()
        } else {
            format!("{shown}/{p}")
        }
    };
    let refused = |problems: Vec<Problem>| {
        ImportError::Refused(
            problems
                .into_iter()
                .map(|p| Diagnostic {
                    severity: Severity::Error,
                    path: in_archive(&p.path),
                    line: 1,
                    col: 1,
                    message: p.message,
                    hint: p.hint,
                })
                .collect(),
        )
    };
    let meta = std::fs::metadata(&opts.source).map_err(|e| crate::fs::named(e, &opts.source))?;
    if let Some(expected) = &opts.sha256 {
        let found = if meta.is_dir() {
            None
        } else {
            Some(sha256_of(&opts.source)?)
        };
        if found.as_deref() != Some(expected.trim().to_ascii_lowercase().as_str()) {
            return Err(refused(vec![Problem {
                path: String::new(),
                message: match found {
                    Some(f) => format!("has SHA-256 {f}, not the {expected} recorded with the application"),
                    None => "is a folder: only a zip has the SHA-256 of an application".into(),
                },
                hint: Some("download it again from the applications bucket".into()),
            }]));
        }
    }
    let archive = if meta.is_dir() {
        archive::read_folder(&opts.source, &opts.limits)
    } else {
        archive::read_zip(&opts.source, &opts.limits)
    }
    .map_err(refused)?;
    let (root, files, mut changes) = arrange(archive).map_err(refused)?;
    let slug = choose_slug(opts, &root).map_err(|p| refused(vec![p]))?;
    let target = opts.content.join("chalets").join(slug.as_str());
    if target.exists() && !opts.replace {
        return Err(ImportError::Exists(target));
    }
    let warnings = check(opts, &slug, &files, &|rel| in_archive(&origin(&files, rel)))?;
    if root.is_empty() || root.rsplit('/').next() != Some(slug.as_str()) {
        changes.insert(0, format!("named the chalet `{slug}`"));
    }
    let replaced = target.exists();
    write(&opts.content, &slug, &files, opts.replace)?;
    Ok(Imported {
        slug,
        dir: target,
        replaced,
        files: files.len(),
        changes,
        warnings,
    })
}

/// The chalet's own files, below its `chalet.yaml`, with tidy names and no photo metadata.
fn arrange(archive: Archive) -> Result<(String, Vec<File>, Vec<String>), Vec<Problem>> {
    let is_yaml = |p: &str| {
        let name = p.rsplit('/').next().unwrap_or(p).to_ascii_lowercase();
        name == "chalet.yaml" || name == "chalet.yml"
    };
    let depth = |p: &str| p.matches('/').count();
    let shallowest = archive
        .entries
        .iter()
        .filter(|e| is_yaml(&e.path))
        .map(|e| depth(&e.path))
        .min();
    let Some(shallowest) = shallowest else {
        return Err(vec![Problem {
            path: String::new(),
            message: "holds no chalet.yaml".into(),
            hint: Some("put the chalet folder itself in the zip: chalet.yaml, about.md, products/".into()),
        }]);
    };
    let tops: Vec<&str> = archive
        .entries
        .iter()
        .filter(|e| is_yaml(&e.path) && depth(&e.path) == shallowest)
        .map(|e| e.path.as_str())
        .collect();
    if tops.len() > 1 {
        return Err(vec![Problem {
            path: String::new(),
            message: format!("holds several chalets ({}): import them one by one", tops.join(", ")),
            hint: None,
        }]);
    }
    let root = tops[0]
        .rsplit_once('/')
        .map_or(String::new(), |(dir, _)| dir.to_string());
    let prefix = if root.is_empty() {
        String::new()
    } else {
        format!("{root}/")
    };
    let mut problems = Vec::new();
    let mut changes = Vec::new();
    let mut files = Vec::new();
    let taken: Vec<String> = archive.entries.iter().map(|e| e.path.clone()).collect();
    for Entry { path, data } in archive.entries {
        let Some(rel) = path.strip_prefix(&prefix) else {
            problems.push(Problem {
                path: path.clone(),
                message: format!("is outside the chalet folder `{root}/`"),
                hint: Some("the zip must hold one chalet folder and nothing beside it".into()),
            });
            continue;
        };
        let mut rel = rel.to_string();
        if let Some(meant) = crate::validate::probably_meant(&rel)
            && !taken.contains(&format!("{prefix}{meant}"))
        {
            changes.push(format!("renamed {rel} to {meant}"));
            rel = meant;
        }
        let mut data = data;
        if let Some(kind) = archive::image_kind(&data) {
            match strip::strip(kind, &data) {
                Ok(Some(clean)) => {
                    changes.push(format!("{rel}: removed {}", clean.removed.join(", ")));
                    data = clean.data;
                }
                Ok(None) => {}
                Err(message) => problems.push(Problem {
                    path: path.clone(),
                    message,
                    hint: Some("export the photo again from the phone or the photo app".into()),
                }),
            }
        }
        files.push(File {
            rel,
            data,
            origin: path,
        });
    }
    for left in archive.left_out {
        changes.push(format!("left out {left}"));
    }
    if problems.is_empty() {
        Ok((root, files, changes))
    } else {
        Err(problems)
    }
}

fn sha256_of(path: &Path) -> io::Result<String> {
    use sha2::Digest;
    let mut hasher = sha2::Sha256::new();
    let mut file = std::fs::File::open(path).map_err(|e| crate::fs::named(e, path))?;
    io::copy(&mut file, &mut hasher)?;
    Ok(crate::fs::hex(&hasher.finalize()))
}

fn choose_slug(opts: &ImportOptions, root: &str) -> Result<Slug, Problem> {
    let (given, from) = match (&opts.slug, root.rsplit('/').next().filter(|r| !r.is_empty())) {
        (Some(s), _) => (s.clone(), "--slug"),
        (None, Some(folder)) => (chalet_types::slugify(folder), "the chalet folder's name"),
        (None, None) => {
            let stem = opts
                .source
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default();
            (chalet_types::slugify(&stem), "the archive's name")
        }
    };
    Slug::parse(&given).map_err(|e| Problem {
        path: String::new(),
        message: format!("`{given}` (from {from}) cannot name a chalet: {e}"),
        hint: Some("give one with --slug, e.g. --slug la-cire-d-anais".into()),
    })
}

fn origin(files: &[File], rel: &str) -> String {
    files
        .iter()
        .find(|f| f.rel == rel)
        .map_or_else(|| rel.to_string(), |f| f.origin.clone())
}

/// `chalet check` on this market with the chalet in it; its warnings, or every problem by its
/// path in the archive.
fn check(
    opts: &ImportOptions,
    slug: &Slug,
    files: &[File],
    in_archive: &dyn Fn(&str) -> String,
) -> Result<Vec<Diagnostic>, ImportError> {
    let tmp = tempfile::Builder::new().prefix("chalet-import-").tempdir()?;
    let content = tmp.path().join("content");
    copy_market(&opts.content, &content)?;
    let chalet = content.join("chalets").join(slug.as_str());
    for f in files {
        crate::fs::write(&chalet.join(&f.rel), &f.data)?;
    }
    let themes = BuildOptions {
        themes: opts.themes.clone(),
        ..BuildOptions::new(&opts.content, "dist")
    }
    .themes_dir();
    let build = BuildOptions {
        themes: Some(themes),
        cache: Some(tmp.path().join("cache")),
        ..BuildOptions::new(&content, tmp.path().join("dist"))
    };
    let ours = format!("{}/", chalet.display());
    let market = format!("{}/", content.display());
    let diags = match crate::build::check(&build) {
        Ok(report) => report.warnings.sorted(),
        Err(BuildError::Content(diags)) => diags,
        Err(BuildError::Io(e)) => return Err(ImportError::Io(e)),
    };
    let (mut mine, mut theirs) = (Vec::new(), Vec::new());
    for mut d in diags {
        if let Some(rel) = d.path.strip_prefix(&ours) {
            d.path = in_archive(rel);
            mine.push(d);
        } else {
            if let Some(rel) = d.path.strip_prefix(&market) {
                d.path = opts.content.join(rel).display().to_string();
            }
            theirs.push(d);
        }
    }
    if theirs.iter().any(|d| d.severity == Severity::Error) {
        return Err(ImportError::ContentBroken(theirs));
    }
    if mine.iter().any(|d| d.severity == Severity::Error) {
        return Err(ImportError::Refused(mine));
    }
    Ok(mine)
}

/// The market without its chalets: what a chalet is checked against.
fn copy_market(from: &Path, to: &Path) -> io::Result<()> {
    for (rel, path) in crate::fs::files_under(from)? {
        if rel.starts_with("chalets/") {
            continue;
        }
        crate::fs::copy(&path, &to.join(&rel))?;
    }
    crate::fs::create_dir_all(&to.join("chalets"))
}

/// Writes the chalet under a hidden name beside its place, then renames it in (after moving a
/// replaced chalet aside, and back if the rename fails).
fn write(content: &Path, slug: &Slug, files: &[File], replace: bool) -> io::Result<()> {
    let chalets = content.join("chalets");
    let target = chalets.join(slug.as_str());
    let pid = std::process::id();
    let staging = chalets.join(format!(".import-{slug}-{pid}"));
    let aside = chalets.join(format!(".replaced-{slug}-{pid}"));
    crate::fs::remove_dir_all(&staging)?;
    let written = (|| {
        for f in files {
            crate::fs::write(&staging.join(&f.rel), &f.data)?;
        }
        if replace && target.exists() {
            crate::fs::rename(&target, &aside)?;
            if let Err(e) = crate::fs::rename(&staging, &target) {
                let _ = std::fs::rename(&aside, &target);
                return Err(e);
            }
            crate::fs::remove_dir_all(&aside)
        } else {
            crate::fs::rename(&staging, &target)
        }
    })();
    if written.is_err() {
        let _ = std::fs::remove_dir_all(&staging);
    }
    written
}
