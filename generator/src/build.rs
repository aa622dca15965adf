//! The pipeline, stage after stage, with timings. `check` runs everything `build` does except
//! writing the site (it does fill the image cache), so a clean check means a clean build.

use crate::diagnostic::{Diagnostic, Diagnostics};
use crate::images::{self, ImagePlan, cache::Cache, index::SourceIndex};
use crate::load::{self, ContentFiles};
use crate::model::Site;
use crate::render::{Content, OutputFile, PageKind, Renderer, memo::Memo};
use crate::{theme, validate, write};
use rayon::prelude::*;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

mod session;
mod shown;
pub use session::Session;
use shown::display_root;

#[derive(Clone, Debug)]
pub struct BuildOptions {
    pub content: PathBuf,
    pub out: PathBuf,
    /// Where themes live; default: `themes/` next to the content folder.
    pub themes: Option<PathBuf>,
    /// The image cache; default: `.cache/chalet/` next to the content folder.
    pub cache: Option<PathBuf>,
    /// Replaces `market.yaml`'s `checkout_url`, e.g. to try the basket against a local checkout
    /// function (`http://127.0.0.1:9000`).
    pub checkout_url: Option<String>,
    /// Replaces `market.yaml`'s `base_url`, e.g. with the address a deployment was given.
    pub base_url: Option<chalet_types::SiteUrl>,
}

impl BuildOptions {
    pub fn new(content: impl Into<PathBuf>, out: impl Into<PathBuf>) -> BuildOptions {
        BuildOptions {
            content: content.into(),
            out: out.into(),
            themes: None,
            cache: None,
            checkout_url: None,
            base_url: None,
        }
    }

    fn beside_content(&self, name: &str) -> PathBuf {
        let parent = self
            .content
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        parent.join(name)
    }

    pub fn cache_dir(&self) -> PathBuf {
        self.cache
            .clone()
            .unwrap_or_else(|| self.beside_content(".cache/chalet"))
    }

    pub fn themes_dir(&self) -> PathBuf {
        self.themes.clone().unwrap_or_else(|| self.beside_content("themes"))
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
    /// Pages rendered by this build; the others were unchanged since the last one.
    pub rendered: usize,
    /// Chalets validated by this build; the others were taken as an earlier build left them,
    /// none of their files having changed.
    pub validated: usize,
    /// Of the market's lists (sitemap, search index, catalogue), how many this build made; the
    /// others could not have changed.
    pub lists: usize,
    /// Why this build rendered every page when it could have rendered fewer (no state, other
    /// options…); `None` for an incremental build or a `check`.
    pub full_render: Option<String>,
    /// Output files written or deleted (`chalets/x/index.html`): what `serve` reloads.
    pub changed: Vec<String>,
    pub images: usize,
    /// Image derivatives encoded by this build (0 when every one came from the cache).
    pub images_encoded: usize,
    /// Files written to the output folder (0 when nothing changed).
    pub written: usize,
    /// Kept chalets' warnings are read from their entries as the report is written
    /// ([`Diagnostics::write_report`]).
    pub warnings: Diagnostics,
    /// Nothing changed since the last build, which left the output as it is: nothing was done
    /// but listing ([`crate::up_to_date`]).
    pub up_to_date: bool,
    pub timings: Vec<(&'static str, Duration)>,
    pub elapsed: Duration,
}

impl BuildReport {
    /// `12 chalets, 58 products, 77 pages (3 rendered), 1 chalets validated, 1 of 3 lists made,
    /// 70 images (0 derivatives encoded), 3 files written in 0.21 s`.
    pub fn summary(&self) -> String {
        format!(
            "{} chalets, {} products, {} pages ({} rendered), {} chalets validated, {} of 3 lists made, {} images ({} derivatives encoded), {} files written in {:.2} s{}",
            self.chalets,
            self.products,
            self.pages,
            self.rendered,
            self.validated,
            self.lists,
            self.images,
            self.images_encoded,
            self.written,
            self.elapsed.as_secs_f64(),
            if self.up_to_date {
                " (nothing changed since the last build)"
            } else {
                ""
            }
        )
    }
}

/// What the stages before rendering produce.
struct Prepared {
    /// Chalets taken from an earlier build's validation.
    reused: usize,
    /// The site's chalets and products, counted while it has them (the report is made after
    /// the chalets are let go).
    chalets: usize,
    products: usize,
    site: Site,
    theme: Arc<theme::Theme>,
    plan: ImagePlan,
    cache: Cache,
    encoded: usize,
    /// `market.yaml` as written: the application form's kit carries it.
    market_text: String,
    warnings: Diagnostics,
    timings: Vec<(&'static str, Duration)>,
}

/// `listed`: the content folder as this build already listed it, if it did.
fn prepare(
    opts: &BuildOptions,
    session: &mut Session,
    listed: Option<ContentFiles>,
    progress: &dyn Fn(&str),
) -> Result<Prepared, BuildError> {
    let mut timings = Vec::new();
    let mut t = Instant::now();
    let mut lap = |name: &'static str, timings: &mut Vec<_>| {
        timings.push((name, t.elapsed()));
        t = Instant::now();
    };
    progress("reading content");
    let refreshed = match (session.listing.take(), session.changes.take()) {
        (Some(mut files), Some(changes)) => files.refresh(&changes).then_some(files),
        _ => None,
    };
    let mut files: ContentFiles = match (listed, refreshed) {
        (Some(files), _) | (None, Some(files)) => files,
        (None, None) => load::scan(&opts.content, &display_root(&opts.content)).map_err(BuildError::Io)?,
    };
    if session.watched {
        session.changes = Some(Vec::new());
    }
    // The market first: the chalets it keeps from the last build need not even be read.
    files.read_texts(|rel| !rel.starts_with("chalets/"));
    lap("load", &mut timings);
    let mut reuse = session.chalets.lookup(&files);
    if reuse.needs_listing() {
        // A chalet listed without its products is not taken after all (its entry changed or
        // the market's rules did): list everything.
        files = load::scan(&opts.content, &display_root(&opts.content)).map_err(BuildError::Io)?;
        files.read_texts(|rel| !rel.starts_with("chalets/"));
        reuse = session.chalets.lookup(&files);
    }
    let reused = reuse.len();
    purge_for(!reuse.keeps_most());
    if !session.watched {
        session.chalets.release();
    }
    lap("reuse", &mut timings);
    files.read_texts(|rel| !reuse.covers(rel));
    lap("read", &mut timings);
    progress("checking content");
    // The image index is read beside validation: it needs nothing validation makes.
    let cache_root = opts.cache_dir();
    let index_path = cache_root.join("sources.tsv");
    let (validated, mut index) = rayon::join(
        || validate::validate_reusing(&files, reuse),
        || SourceIndex::load(&index_path),
    );
    let validate::Validated {
        site,
        images: sources,
        mut diags,
        fresh,
    } = validated;
    let market_text = files
        .texts
        .get("market.yaml")
        .map(|f| f.text().to_string())
        .unwrap_or_default();
    session.chalets.keep(&files, fresh);
    if session.watched {
        session.listing = Some(files);
    }
    lap("validate", &mut timings);
    progress("reading images");
    let mut cache = Cache::open(&cache_root).map_err(BuildError::Io)?;
    let settings = site.as_ref().map(|s| s.market.images.clone()).unwrap_or_default();
    // The theme is loaded beside the images' planning (it needs only the market's choice of
    // theme and language); it is used only if the content has no errors.
    let ((mut plan, d), theme) = rayon::join(
        || images::plan(&sources, &opts.content, &settings, &mut index),
        || site.as_ref().map(|site| session.theme(opts, site)),
    );
    diags.extend(d);
    diags.extend(images::checks::warnings(&sources, &plan));
    cache.expect(plan.cache_record());
    lap("images", &mut timings);
    let missing = plan.missing(&cache);
    if missing > 0 {
        progress(&format!("making {missing} image derivatives"));
    }
    let (processed, d) = images::process(&mut plan, &cache, &settings, &mut index);
    diags.extend(d);
    lap("encode", &mut timings);
    index
        .save(&index_path, plan.images.iter().map(|i| i.rel.as_str()))
        .map_err(BuildError::Io)?;
    // A site is kept only without errors; its theme was loaded whenever there was a site.
    let (Some(mut site), Some(theme)) = (site.filter(|_| !diags.has_errors()), theme) else {
        return Err(BuildError::Content(diags.sorted()));
    };
    if let Some(base) = &opts.base_url {
        site.market.base_url = base.clone();
    }
    if let Some(url) = &opts.checkout_url {
        site.market.checkout_url = Some(url.trim_end_matches('/').to_string());
    }
    let theme = match theme {
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
        reused,
        chalets: site.chalets.len(),
        products: site.product_count(),
        site,
        theme,
        plan,
        cache,
        encoded: processed.encoded,
        market_text,
        warnings: diags,
        timings,
    })
}

fn fail(warnings: &Diagnostics, more: Diagnostics) -> BuildError {
    let mut all = warnings.clone();
    all.extend(more);
    BuildError::Content(all.sorted())
}

/// `warnings`: the build's, kept chalets' still in their entries.
fn report(p: &Prepared, pages: usize, written: usize, started: Instant, warnings: Diagnostics) -> BuildReport {
    BuildReport {
        chalets: p.chalets,
        validated: p.chalets - p.reused,
        lists: crate::render::lists::FILES.len(),
        products: p.products,
        pages,
        rendered: pages,
        full_render: None,
        changed: Vec::new(),
        images: p.site.images.len(),
        images_encoded: p.encoded,
        written,
        warnings,
        up_to_date: false,
        timings: p.timings.clone(),
        elapsed: started.elapsed(),
    }
}

/// Validates and renders everything (output discarded) and writes nothing to the output folder.
/// It does make missing image derivatives and keep them in the image cache, so the build that
/// usually follows a clean check has nothing left to encode.
pub fn check(opts: &BuildOptions) -> Result<BuildReport, BuildError> {
    let started = Instant::now();
    let mut p = prepare(opts, &mut Session::new(opts), None, &|_| {})?;
    let t = Instant::now();
    let renderer = Renderer::new(&p.site, &p.theme, &p.plan).map_err(|d| fail(&p.warnings, d))?;
    let all: Vec<PageKind> = renderer.pages().collect();
    let errors: Vec<_> = all
        .par_iter()
        .filter_map(|page| renderer.render_page(*page).err())
        .collect();
    let pages = renderer.page_count();
    let others = renderer.other_files(&Memo::none(), None);
    if !errors.is_empty() || others.is_err() {
        let mut d = Diagnostics::default();
        errors.into_iter().chain(others.err()).for_each(|e| d.push(e));
        return Err(fail(&p.warnings, d));
    }
    drop(renderer);
    p.timings.push(("render", t.elapsed()));
    let warnings = p.warnings.clone();
    Ok(report(&p, pages, 0, started, warnings))
}

/// Builds the site into `opts.out`; on any error the previous output is left untouched.
pub fn build(opts: &BuildOptions, progress: &dyn Fn(&str)) -> Result<BuildReport, BuildError> {
    build_in(opts, &mut Session::new(opts), progress)
}

/// [`build`], keeping in `session` what the next build in this process can take again.
pub fn build_in(
    opts: &BuildOptions,
    session: &mut Session,
    progress: &dyn Fn(&str),
) -> Result<BuildReport, BuildError> {
    crate::output_folder::check(opts)?;
    let started = Instant::now();
    // A one-off build first lists the folders: when nothing changed since the last build, and
    // the output is as it left it, there is nothing to do. (`serve` builds when told of a change.)
    let (inputs, listed) = if session.watched {
        (None, None)
    } else {
        // Without the products of the chalets the last build validated as they still are: a
        // rebuild takes those whole and never looks at their files.
        let prune = session.chalets.pruner();
        let files = load::scan_pruning(&opts.content, &display_root(&opts.content), &prune).map_err(BuildError::Io)?;
        let inputs = crate::up_to_date::Inputs::of(opts, &files);
        if let Some(report) = crate::up_to_date::replay(opts, &inputs, started) {
            return Ok(report);
        }
        (Some(inputs), Some(files))
    };
    let listing = started.elapsed();
    // The output's manifest (megabytes with photos) is read while the content is checked.
    let out = opts.out.clone();
    let manifest_read = std::thread::spawn(move || write::Manifest::open(&out));
    let mut p = prepare(opts, session, listed, progress)?;
    p.timings.insert(0, ("list", listing));
    progress("rendering and writing");
    let t = Instant::now();
    let options = format!(
        "theme={} themes={} base_url={:?} checkout_url={:?}",
        p.site.market.theme,
        std::path::absolute(opts.themes_dir()).unwrap_or_default().display(),
        opts.base_url.as_ref().map(|u| u.to_string()),
        opts.checkout_url
    );
    let cache_dir = opts.cache_dir();
    if let Some(saving) = session.saving.take() {
        let _ = saving.join();
    }
    // The views and the last build's state are independent: made side by side.
    let mut manifest = manifest_read.join().unwrap_or_default();
    let (renderer, mut memo) = rayon::join(
        || Renderer::new(&p.site, &p.theme, &p.plan),
        || Memo::open(&cache_dir, &opts.out, &options, manifest.as_ref()),
    );
    let renderer = renderer.map_err(|d| fail(&p.warnings, d))?;
    // The chalets whose pages are taken whole from the output: not even listed below.
    let kept = memo.settle(renderer.units(), manifest.as_mut(), &options);
    if memo.full.is_some() {
        purge_for(true);
    }
    // A manifest that could not be read back is no guide to what the output holds: the output
    // is written whole (the memo renders every page and takes no chalet whole).
    if manifest.as_ref().is_some_and(write::Manifest::broken) {
        manifest = None;
    }
    p.timings.push(("views", t.elapsed()));
    let t = Instant::now();
    let pages = renderer.page_count();
    let to_make: Vec<PageKind> = renderer
        .pages()
        .filter(|page| page.chalet().is_none_or(|ci| kept[ci].is_none()))
        .collect();
    memo.expect_pages(to_make.len());
    let kept: Vec<write::KeptUnit> = kept.into_iter().flatten().collect();
    // The application form's kit, when the market has the form's page.
    let kit = p
        .site
        .pages
        .iter()
        .any(|page| page.slug.as_str() == chalet_types::routes::APPLY_PAGE)
        .then(|| OutputFile {
            path: crate::apply::kit_path(),
            content: Content::Bytes(
                crate::apply::Kit::new(
                    &p.market_text,
                    &p.theme,
                    renderer.asset_paths(),
                    &crate::apply::market_images(&p.site, &opts.content),
                )
                .to_json()
                .into_bytes(),
            ),
        });
    let folders = || {
        folders(
            renderer
                .pages()
                .map(|p| renderer.output_path(p))
                .chain(renderer.other_paths(&p.plan))
                .chain(kit.iter().map(|k| k.path.clone())),
        )
    };
    let rendered = AtomicUsize::new(0);
    let lists = AtomicUsize::new(0);
    // The files besides the pages (sitemap, search index, catalogue…) each walk the whole
    // market: made by one worker while the others render pages.
    let others = rayon::iter::once(()).flat_map_iter(|()| match renderer.other_files(&memo, Some(&opts.out)) {
        Ok(files) => files.into_iter().map(Ok).collect::<Vec<_>>(),
        Err(d) => vec![Err(d)],
    });
    let others = others
        .inspect(|f| {
            if let Ok(f) = f
                && crate::render::lists::FILES.contains(&f.path.as_str())
                && !matches!(f.content, Content::Unchanged { .. })
            {
                lists.fetch_add(1, Ordering::Relaxed);
            }
        })
        .chain(rayon::iter::once(kit.clone()).flat_map_iter(|k| k.map(Ok)));
    let stream = to_make
        .par_iter()
        .map(|page| {
            let file = renderer.render_page_with(*page, &memo)?;
            if !matches!(file.content, Content::Unchanged { .. }) {
                rendered.fetch_add(1, Ordering::Relaxed);
            }
            Ok(file)
        })
        .chain(others);
    let written = match write::write_site(
        &opts.out,
        manifest.as_ref(),
        folders,
        stream,
        &kept,
        &p.plan.images,
        &p.cache.dir,
    ) {
        Ok(w) => w,
        Err(write::WriteError::Io(e)) => return Err(BuildError::Io(e)),
        Err(write::WriteError::Content(d)) => return Err(fail(&p.warnings, d)),
    };
    p.timings.push(("pages", t.elapsed()));
    let t = Instant::now();
    let full_render = memo.full.clone();
    // The state is only worth keeping once the output it describes is in place; losing it
    // costs one full render next time, never a wrong page. `serve` writes it while the tabs
    // reload (the next build waits for it); `build` beside the rest of its work.
    let out = opts.out.clone();
    let hashes = written.hashes;
    let save = move || memo.save(&cache_dir, &out, &options, &hashes);
    // The views freed; the rest: the image cache's unused entries deleted (only after a
    // successful write), the warnings taken for the report. The chalets go first: the kept
    // chalets' warnings are read back for the report (a few chalets at a time, as it is
    // written), and at 1,000 chalets the two were a rebuild's peak (2.2 MB of chalets and
    // products, 1.8 MB of warnings).
    drop(renderer);
    let mut rest = || {
        p.cache.finish(|| p.plan.cache_names());
        drop(std::mem::take(&mut p.site.chalets));
        std::mem::take(&mut p.warnings)
    };
    let warnings = if session.watched {
        session.saving = Some(std::thread::spawn(move || {
            let _ = save();
        }));
        rest()
    } else {
        let (saved, warnings) = rayon::join(save, rest);
        if let Err(e) = saved {
            progress(&format!(
                "the incremental state could not be kept ({e}): the next build renders every page"
            ));
        }
        warnings
    };
    p.timings.push(("state", t.elapsed()));
    let report = BuildReport {
        rendered: rendered.into_inner(),
        lists: lists.into_inner(),
        full_render,
        changed: written.changed,
        ..report(&p, pages, written.written, started, warnings)
    };
    // Last, once the output and the state describe this build.
    if let Some(inputs) = &inputs {
        crate::up_to_date::record(opts, inputs, &report);
    }
    // The market, its plan and its views are a hundred thousand allocations (M with photos):
    // freed beside, not before the report (`chalet build` exits without waiting for it).
    std::thread::spawn(move || drop(p));
    Ok(report)
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

/// How freed memory goes back to the system (`chalet_allocator`): at once while a build keeps
/// most of the market and allocates little (its peak is then what it holds, not all it ever
/// touched), 10 ms later once it turns out to validate or render most of it (purging every page
/// at once cost such a build 5–10 %).
fn purge_for(bulk: bool) {
    use chalet_allocator::Purge;
    chalet_allocator::purge(if bulk { Purge::Soon } else { Purge::AtOnce });
}
