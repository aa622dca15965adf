//! The pipeline, stage after stage, with timings. `check` runs everything `build` does except
//! writing, so a clean check means a clean build.

use crate::diagnostic::{Diagnostic, Diagnostics};
use crate::images::{self, ImagePlan};
use crate::load::{self, ContentFiles};
use crate::model::Site;
use crate::render::{self, OutputFile};
use crate::{theme, validate, write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

#[derive(Clone, Debug)]
pub struct BuildOptions {
    pub content: PathBuf,
    pub out: PathBuf,
    /// Where themes live; default: `themes/` next to the content folder.
    pub themes: Option<PathBuf>,
}

impl BuildOptions {
    pub fn themes_dir(&self) -> PathBuf {
        self.themes.clone().unwrap_or_else(|| {
            let parent = self
                .content
                .parent()
                .filter(|p| !p.as_os_str().is_empty())
                .unwrap_or(Path::new("."));
            parent.join("themes")
        })
    }
}

#[derive(Debug)]
pub enum BuildError {
    /// Problems in the content (exit code 1), warnings included, sorted.
    Content(Vec<Diagnostic>),
    /// The content folder or output could not be read or written (exit code 2).
    Io(std::io::Error),
}

impl std::fmt::Display for BuildError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            BuildError::Content(d) => write!(f, "{} problems in the content", d.len()),
            BuildError::Io(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for BuildError {}

#[derive(Clone, Debug, Default)]
pub struct BuildReport {
    pub chalets: usize,
    pub products: usize,
    pub pages: usize,
    pub images: usize,
    pub files: usize,
    pub warnings: Vec<Diagnostic>,
    pub timings: Vec<(&'static str, Duration)>,
    pub elapsed: Duration,
}

impl BuildReport {
    /// `12 chalets, 58 products, 77 pages, 70 images in 0.21 s`.
    pub fn summary(&self) -> String {
        format!(
            "{} chalets, {} products, {} pages, {} images in {:.2} s",
            self.chalets,
            self.products,
            self.pages,
            self.images,
            self.elapsed.as_secs_f64()
        )
    }
}

/// What the stages before writing produce.
struct Rendered {
    site: Site,
    files: Vec<OutputFile>,
    warnings: Diagnostics,
    timings: Vec<(&'static str, Duration)>,
}

fn run(opts: &BuildOptions, progress: &dyn Fn(&str)) -> Result<Rendered, BuildError> {
    let mut timings = Vec::new();
    let mut t = Instant::now();
    let mut lap = |name: &'static str, timings: &mut Vec<_>| {
        timings.push((name, t.elapsed()));
        t = Instant::now();
    };
    progress("reading content");
    let files: ContentFiles = load::load(&opts.content, &display_root(&opts.content)).map_err(BuildError::Io)?;
    lap("load", &mut timings);
    progress("checking content");
    let validate::Validated {
        site,
        images: sources,
        mut diags,
    } = validate::validate(&files);
    lap("validate", &mut timings);
    progress("reading images");
    let (plan, d): (ImagePlan, Diagnostics) = images::plan(&sources, &opts.content);
    diags.extend(d);
    lap("images", &mut timings);
    let Some(site) = site.filter(|_| !diags.has_errors()) else {
        return Err(BuildError::Content(diags.sorted()));
    };
    let overrides = opts.content.join("templates");
    let theme = match theme::load(&opts.themes_dir(), &site.market.theme, &overrides, site.market.language) {
        Ok((theme, d)) => {
            diags.extend(d);
            theme
        }
        Err(d) => {
            diags.extend(d);
            return Err(BuildError::Content(diags.sorted()));
        }
    };
    lap("theme", &mut timings);
    progress("rendering pages");
    let files = render::render(&site, &theme, &plan).map_err(|d| {
        let mut all = diags.clone();
        all.extend(d);
        BuildError::Content(all.sorted())
    })?;
    lap("render", &mut timings);
    Ok(Rendered {
        site,
        files,
        warnings: diags,
        timings,
    })
}

fn report(r: &Rendered, started: Instant) -> BuildReport {
    BuildReport {
        chalets: r.site.chalets.len(),
        products: r.site.product_count(),
        pages: r.files.iter().filter(|f| f.path.ends_with(".html")).count(),
        images: r.site.images.len(),
        files: r.files.len(),
        warnings: r.warnings.clone().sorted(),
        timings: r.timings.clone(),
        elapsed: started.elapsed(),
    }
}

/// Validates and renders everything, writes nothing.
pub fn check(opts: &BuildOptions) -> Result<BuildReport, BuildError> {
    let started = Instant::now();
    let r = run(opts, &|_| {})?;
    Ok(report(&r, started))
}

/// Builds the site into `opts.out`; on any error the previous output is left untouched.
pub fn build(opts: &BuildOptions, progress: &dyn Fn(&str)) -> Result<BuildReport, BuildError> {
    let started = Instant::now();
    let mut r = run(opts, progress)?;
    progress("writing");
    let t = Instant::now();
    write::write_site(&opts.out, &r.files).map_err(BuildError::Io)?;
    r.timings.push(("write", t.elapsed()));
    Ok(report(&r, started))
}

/// `content` as given on the command line, for diagnostics (`content/chalets/…`).
fn display_root(content: &Path) -> String {
    let s = content.display().to_string();
    s.trim_end_matches('/').to_string()
}
