//! The pipeline, stage after stage, with timings. `check` runs everything `build` does except
//! writing, so a clean check means a clean build.

use crate::diagnostic::{Diagnostic, Diagnostics};
use crate::images::{self, ImagePlan};
use crate::load::{self, ContentFiles};
use crate::model::Site;
use crate::render::Renderer;
use crate::{theme, validate, write};
use rayon::prelude::*;
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

/// What the stages before rendering produce.
struct Prepared {
    site: Site,
    theme: theme::Theme,
    plan: ImagePlan,
    warnings: Diagnostics,
    timings: Vec<(&'static str, Duration)>,
}

fn prepare(opts: &BuildOptions, progress: &dyn Fn(&str)) -> Result<Prepared, BuildError> {
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
    let (plan, d) = images::plan(&sources, &opts.content);
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
    Ok(Prepared {
        site,
        theme,
        plan,
        warnings: diags,
        timings,
    })
}

fn fail(warnings: &Diagnostics, more: Diagnostics) -> BuildError {
    let mut all = warnings.clone();
    all.extend(more);
    BuildError::Content(all.sorted())
}

fn report(p: &Prepared, pages: usize, files: usize, started: Instant) -> BuildReport {
    BuildReport {
        chalets: p.site.chalets.len(),
        products: p.site.product_count(),
        pages,
        images: p.site.images.len(),
        files,
        warnings: p.warnings.clone().sorted(),
        timings: p.timings.clone(),
        elapsed: started.elapsed(),
    }
}

/// Validates and renders everything (output discarded), writes nothing.
pub fn check(opts: &BuildOptions) -> Result<BuildReport, BuildError> {
    let started = Instant::now();
    let mut p = prepare(opts, &|_| {})?;
    let t = Instant::now();
    let renderer = Renderer::new(&p.site, &p.theme, &p.plan).map_err(|d| fail(&p.warnings, d))?;
    let errors: Vec<_> = renderer
        .pages()
        .par_iter()
        .filter_map(|page| renderer.render_page(*page).err())
        .collect();
    let pages = renderer.pages().len();
    let files = pages + renderer.other_files(&p.plan).len();
    if !errors.is_empty() {
        let mut d = Diagnostics::default();
        errors.into_iter().for_each(|e| d.push(e));
        return Err(fail(&p.warnings, d));
    }
    drop(renderer);
    p.timings.push(("render", t.elapsed()));
    Ok(report(&p, pages, files, started))
}

/// Builds the site into `opts.out`; on any error the previous output is left untouched.
pub fn build(opts: &BuildOptions, progress: &dyn Fn(&str)) -> Result<BuildReport, BuildError> {
    let started = Instant::now();
    let mut p = prepare(opts, progress)?;
    progress("rendering and writing");
    let t = Instant::now();
    let renderer = Renderer::new(&p.site, &p.theme, &p.plan).map_err(|d| fail(&p.warnings, d))?;
    let pages = renderer.pages().len();
    let others = renderer.other_files(&p.plan);
    let folders = folders(
        renderer
            .pages()
            .iter()
            .map(|p| renderer.output_path(*p))
            .chain(others.iter().map(|f| f.path.clone())),
    );
    let stream = renderer
        .pages()
        .par_iter()
        .map(|page| renderer.render_page(*page))
        .chain(others.into_par_iter().map(Ok));
    let files = match write::write_site(&opts.out, &folders, stream) {
        Ok(n) => n,
        Err(write::WriteError::Io(e)) => return Err(BuildError::Io(e)),
        Err(write::WriteError::Content(d)) => return Err(fail(&p.warnings, d)),
    };
    drop(renderer);
    p.timings.push(("render+write", t.elapsed()));
    Ok(report(&p, pages, files, started))
}

/// Every folder the files need, each once, parents before children.
fn folders(paths: impl Iterator<Item = String>) -> Vec<String> {
    let mut set = std::collections::BTreeSet::new();
    for p in paths {
        let mut dir = p.as_str();
        while let Some((parent, _)) = dir.rsplit_once('/') {
            if !set.insert(parent.to_string()) {
                break;
            }
            dir = parent;
        }
    }
    // BTreeSet order puts "a" before "a/b": parents come first.
    set.into_iter().collect()
}

/// `content` as given on the command line, for diagnostics (`content/chalets/…`).
fn display_root(content: &Path) -> String {
    let s = content.display().to_string();
    s.trim_end_matches('/').to_string()
}
