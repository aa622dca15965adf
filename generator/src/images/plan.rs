//! Planning: what each source is and which derivatives it gets, known before rendering so that
//! templates can write `srcset`, `width` and `height`. Reads headers, never pixels.

use super::cache::Cache;
use super::index::{SourceIndex, SourceInfo};
use super::inspect::{WEBP_MAX_SIDE, inspect};
use crate::diagnostic::{Diagnostic, Diagnostics, Severity};
use crate::model::ImageSettings;
use crate::model::ImageSource;
use rayon::prelude::*;
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Format {
    Webp,
    Jpeg,
    Png,
}

impl Format {
    pub fn ext(self) -> &'static str {
        match self {
            Format::Webp => "webp",
            Format::Jpeg => "jpg",
            Format::Png => "png",
        }
    }

    pub fn mime(self) -> &'static str {
        match self {
            Format::Webp => "image/webp",
            Format::Jpeg => "image/jpeg",
            Format::Png => "image/png",
        }
    }
}

/// One file the site serves for an image: its size and format. Its names (in the cache and
/// in the site) are made from its image's recipe when asked ([`PlannedImage::names`]): a market
/// with photos plans 37,200 derivatives on every build and names only those a build touches.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Derivative {
    pub width: u32,
    pub height: u32,
    pub format: Format,
}

/// A derivative's two names.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Names {
    /// In the cache: `<sha256 of source + operation + settings>.<ext>`.
    pub cache_file: String,
    /// Under the site root: `images/<stem>-<width>.<key prefix>.<ext>`.
    pub out: String,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PlannedImage {
    pub rel: String,
    /// The content line that first names it, for problems found while processing.
    pub origin: crate::model::Origin,
    pub source: PathBuf,
    pub info: SourceInfo,
    /// Its file name's stem as a slug: its derivatives' names in the site start with it.
    pub stem: String,
    /// The lossy encoders' quality it is planned with.
    pub quality: u8,
    /// WebP at every width of the ladder the source can fill, smallest first.
    pub modern: Vec<Derivative>,
    /// JPEG (or PNG for transparent sources) at the fallback width.
    pub fallback: Derivative,
}

impl PlannedImage {
    /// Every derivative: the modern ones, then the fallback.
    pub fn derivatives(&self) -> impl Iterator<Item = &Derivative> {
        self.modern.iter().chain(std::iter::once(&self.fallback))
    }

    /// Every derivative with its names.
    pub fn named(&self) -> impl Iterator<Item = (&Derivative, Names)> {
        self.derivatives().map(|d| (d, self.names(d)))
    }

    /// `d`'s names. Its key is the SHA-256 of its operation — the pipeline's version, the
    /// source's hash, size, format and quality — never a process-dependent hash: the cache
    /// outlives the program.
    pub fn names(&self, d: &Derivative) -> Names {
        use std::fmt::Write as _;
        let mut op = String::with_capacity(128);
        let _ = write!(
            op,
            "v{};{};{}x{};{};q{}",
            super::PIPELINE_VERSION,
            self.info.hash,
            d.width,
            d.height,
            d.format.ext(),
            if d.format == Format::Png { 0 } else { self.quality }
        );
        let mut cache_file = String::with_capacity(64 + 1 + d.format.ext().len());
        chalet_types::encoding::push_hex(&mut cache_file, &Sha256::digest(op.as_bytes()));
        let out = format!(
            "images/{}-{}.{}.{}",
            self.stem,
            d.width,
            &cache_file[..10],
            d.format.ext()
        );
        cache_file.push('.');
        cache_file.push_str(d.format.ext());
        Names { cache_file, out }
    }

    /// A hash of everything its derivatives' cache files are named from: equal recipes, equal
    /// cache files.
    pub fn cache_recipe(&self) -> u128 {
        let mut h = xxhash_rust::xxh3::Xxh3::new();
        h.update(&super::PIPELINE_VERSION.to_le_bytes());
        h.update(self.info.hash.as_bytes());
        h.update(&[0, self.quality]);
        for d in self.derivatives() {
            h.update(&d.width.to_le_bytes());
            h.update(&d.height.to_le_bytes());
            h.update(d.format.ext().as_bytes());
            h.update(b"\0");
        }
        h.digest128()
    }

    /// A hash of everything its derivatives' names in the site and their bytes are made from
    /// (the cache recipe and the stem): what the output's manifest tracks them by.
    pub fn recipe(&self) -> u128 {
        let mut h = xxhash_rust::xxh3::Xxh3::new();
        h.update(&self.cache_recipe().to_le_bytes());
        h.update(self.stem.as_bytes());
        h.digest128()
    }
}

/// Indexed like [`crate::model::Site::images`].
#[derive(Clone, Debug, Default)]
pub struct ImagePlan {
    pub images: Vec<PlannedImage>,
}

/// Plans every source; problems are diagnostics at the content line that names the image.
pub fn plan(
    sources: &[ImageSource],
    content_root: &Path,
    settings: &ImageSettings,
    index: &mut SourceIndex,
) -> (ImagePlan, Diagnostics) {
    let index_ro: &SourceIndex = index;
    let read = |rel: &str| std::fs::read(content_root.join(rel));
    let results: Vec<Result<PlannedImage, Diagnostic>> = sources
        .par_iter()
        .map(|s| plan_one(s, content_root, settings, index_ro, &read))
        .collect();
    let mut plan = ImagePlan {
        images: Vec::with_capacity(results.len()),
    };
    let mut diags = Diagnostics::default();
    for r in results {
        match r {
            Ok(p) => {
                index.insert(&p.rel, &p.info);
                plan.images.push(p);
            }
            Err(d) => diags.push(d),
        }
    }
    (plan, diags)
}

pub(super) fn problem(img: &ImageSource, message: String, hint: Option<&str>) -> Diagnostic {
    Diagnostic {
        severity: Severity::Error,
        path: img.origin.path.clone(),
        line: img.origin.line,
        col: img.origin.col,
        message,
        hint: hint.map(str::to_string),
    }
}

/// The same plan for images given in memory (the application form's photos, in the browser):
/// `bytes` by path relative to the content folder.
pub fn plan_in_memory(
    sources: &[ImageSource],
    bytes: &std::collections::BTreeMap<String, Vec<u8>>,
    settings: &ImageSettings,
) -> (ImagePlan, Diagnostics) {
    let read = |rel: &str| {
        bytes
            .get(rel)
            .cloned()
            .ok_or_else(|| std::io::Error::from(std::io::ErrorKind::NotFound))
    };
    let none = SourceIndex::default();
    let mut plan = ImagePlan::default();
    let mut diags = Diagnostics::default();
    for s in sources {
        match plan_one(s, Path::new(""), settings, &none, &read) {
            Ok(p) => plan.images.push(p),
            Err(d) => diags.push(d),
        }
    }
    (plan, diags)
}

type Read<'a> = dyn Fn(&str) -> std::io::Result<Vec<u8>> + Sync + 'a;

fn plan_one(
    img: &ImageSource,
    root: &Path,
    settings: &ImageSettings,
    index: &SourceIndex,
    read: &Read,
) -> Result<PlannedImage, Diagnostic> {
    let source = root.join(&img.rel);
    // Size and time come from loading: an unchanged file costs no system call here.
    let (size, mtime) = (img.len, img.mtime_ns);
    let info = match index.fresh(&img.rel, size, mtime) {
        Some(info) => info.clone(),
        None => {
            let bytes =
                read(&img.rel).map_err(|e| problem(img, format!("image `{}` cannot be read: {e}", img.rel), None))?;
            inspect(img, &bytes, size, mtime, settings)?
        }
    };
    Ok(derivatives(img, source, info, settings))
}

fn derivatives(img: &ImageSource, source: PathBuf, info: SourceInfo, s: &ImageSettings) -> PlannedImage {
    let stem = img.rel.rsplit('/').next().unwrap_or(&img.rel);
    let stem = stem.rsplit_once('.').map_or(stem, |(a, _)| a);
    let stem = match chalet_types::slugify(stem) {
        s if s.is_empty() => "image".to_string(),
        s => s,
    };
    let height_for = |width: u32| {
        ((u64::from(info.height) * u64::from(width) + u64::from(info.width) / 2) / u64::from(info.width)).max(1) as u32
    };
    // A tall image's derivatives are narrowed until their height fits the encoder.
    let make = |width: u32, format: Format| {
        let mut width = width;
        while height_for(width) > WEBP_MAX_SIDE && width > 1 {
            width = (u64::from(width) * u64::from(WEBP_MAX_SIDE) / u64::from(height_for(width))).max(1) as u32;
        }
        Derivative {
            width,
            height: height_for(width),
            format,
        }
    };
    // Never upscale: keep ladder steps below the source width, and the source width itself when
    // the ladder goes beyond it, so the largest derivative is as sharp as the source allows.
    let mut widths: Vec<u32> = s.widths.iter().copied().filter(|&w| w < info.width).collect();
    if s.widths.iter().any(|&w| w >= info.width) || widths.is_empty() {
        widths.push(info.width);
    }
    widths.sort_unstable();
    widths.dedup();
    let mut modern: Vec<Derivative> = widths.iter().map(|&w| make(w, Format::Webp)).collect();
    // Narrowed ladder steps may meet: one derivative per width.
    modern.dedup_by_key(|d| d.width);
    let fallback_format = if info.alpha { Format::Png } else { Format::Jpeg };
    let fallback = make(s.fallback_width.min(info.width), fallback_format);
    PlannedImage {
        rel: img.rel.clone(),
        origin: img.origin.clone(),
        source,
        info,
        stem,
        quality: s.quality,
        modern,
        fallback,
    }
}

/// A photo's derivatives come and go together: one line of the output's manifest, linked
/// from the image cache (a derivative's cache file is named by its key).
impl crate::write::Group for PlannedImage {
    fn name(&self) -> &str {
        &self.rel
    }

    fn files(&self) -> Vec<(String, String)> {
        self.named().map(|(_, n)| (n.out, n.cache_file)).collect()
    }

    /// Its recipe: its files' names and bytes are made from it, so it changes when they do,
    /// and no name is made to know it.
    fn hash(&self) -> u128 {
        self.recipe()
    }
}

impl ImagePlan {
    /// The cache files this plan needs, each once (two photos with the same bytes share them).
    pub fn cache_names(&self) -> rustc_hash::FxHashSet<String> {
        self.cache_files().collect()
    }

    /// Every cache file this plan needs, named.
    fn cache_files(&self) -> impl Iterator<Item = String> {
        self.images.iter().flat_map(|i| i.named().map(|(_, n)| n.cache_file))
    }

    /// How many derivatives it has.
    pub fn derivative_count(&self) -> usize {
        self.images.iter().map(|i| i.derivatives().count()).sum()
    }

    /// How many derivatives it has, and a hash of what their cache files are named from:
    /// equal records, equal cache files ([`Cache::expect`]).
    pub fn cache_record(&self) -> (usize, u128) {
        let hash = self.images.iter().fold(0u128, |h, i| h.wrapping_add(i.cache_recipe()));
        (self.derivative_count(), hash)
    }

    /// Derivatives not yet in the cache (none, without naming any, when the cache is as the
    /// last build left it).
    pub fn missing(&self, cache: &Cache) -> usize {
        if cache.settled() {
            return 0;
        }
        self.cache_files().filter(|name| !cache.contains(name)).count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::images::PIPELINE_VERSION;
    use crate::model::Origin;

    fn source() -> ImageSource {
        ImageSource {
            rel: "chalets/a/Photo Été.JPG".into(),
            origin: Origin {
                path: "x".into(),
                line: 1,
                col: 1,
            },
            role: crate::model::ImageRole::Product,
            len: 1,
            mtime_ns: 1,
        }
    }

    fn info(width: u32, height: u32, alpha: bool) -> SourceInfo {
        SourceInfo {
            size: 1,
            mtime_ns: 1,
            hash: "h".into(),
            width,
            height,
            alpha,
            color: None,
        }
    }

    #[test]
    fn never_upscales_and_keeps_the_source_width() {
        let s = ImageSettings::default();
        let p = derivatives(&source(), PathBuf::new(), info(1000, 750, false), &s);
        let widths: Vec<u32> = p.modern.iter().map(|d| d.width).collect();
        assert_eq!(widths, vec![320, 640, 960, 1000]);
        assert_eq!(p.modern[1].height, 480);
        assert_eq!(p.fallback.width, 960);
        assert_eq!(p.fallback.format, Format::Jpeg);
        let out = p.names(&p.modern[0]).out;
        assert!(out.starts_with("images/photo-ete-320."), "{out}");
    }

    #[test]
    fn a_derivatives_key_is_the_sha256_of_its_operation() {
        // Renaming every cache file would encode every market's photos again: the key's
        // recipe is pinned here, spelled out apart from the code that makes it.
        let s = ImageSettings::default();
        let p = derivatives(&source(), PathBuf::new(), info(1000, 750, false), &s);
        let op = format!("v{PIPELINE_VERSION};h;320x240;webp;q{}", s.quality);
        let key = chalet_types::encoding::hex(&Sha256::digest(op.as_bytes()));
        assert_eq!(p.names(&p.modern[0]).cache_file, format!("{key}.webp"));
        assert_eq!(
            p.names(&p.modern[0]).out,
            format!("images/photo-ete-320.{}.webp", &key[..10])
        );
        let op = format!("v{PIPELINE_VERSION};h;960x720;jpg;q{}", s.quality);
        let key = chalet_types::encoding::hex(&Sha256::digest(op.as_bytes()));
        assert_eq!(p.names(&p.fallback).cache_file, format!("{key}.jpg"));
    }

    #[test]
    fn tiny_sources_get_one_derivative_and_alpha_falls_back_to_png() {
        let p = derivatives(&source(), PathBuf::new(), info(64, 48, true), &ImageSettings::default());
        assert_eq!(p.modern.len(), 1);
        assert_eq!((p.modern[0].width, p.modern[0].height), (64, 48));
        assert_eq!(p.fallback.format, Format::Png);
    }

    /// Regression: a tall image's derivatives were planned taller than WebP can encode, and the
    /// encoder panicked (killing `chalet serve`). They are narrowed to fit, one per width.
    #[test]
    fn tall_derivatives_fit_the_webp_limit() {
        let s = ImageSettings {
            widths: vec![320, 640, 960, 1280, 1920],
            ..ImageSettings::default()
        };
        let p = derivatives(&source(), PathBuf::new(), info(1000, 19_000, false), &s);
        assert!(p.modern.iter().all(|d| d.height <= WEBP_MAX_SIDE), "{:?}", p.modern);
        assert!(
            p.modern.iter().any(|d| d.height > 16_000),
            "the largest is as tall as allowed"
        );
        let widths: Vec<u32> = p.modern.iter().map(|d| d.width).collect();
        let mut unique = widths.clone();
        unique.dedup();
        assert_eq!(widths, unique, "one derivative per width");
        assert!(
            p.fallback.height <= WEBP_MAX_SIDE,
            "the fallback is narrowed the same way"
        );
    }

    /// A photo's recipe stands for its derivatives' names (the manifest and the cache record
    /// trust it instead of making them): whatever changes a name changes it.
    #[test]
    fn the_recipe_changes_with_every_name() {
        let s = ImageSettings::default();
        let a = derivatives(&source(), PathBuf::new(), info(1000, 750, false), &s);
        let names = |p: &PlannedImage| p.derivatives().map(|d| p.names(d)).collect::<Vec<_>>();
        let renamed = ImageSource {
            rel: "chalets/a/Other.JPG".into(),
            ..source()
        };
        let b = derivatives(&renamed, PathBuf::new(), info(1000, 750, false), &s);
        assert_ne!(names(&a), names(&b));
        assert_ne!(a.recipe(), b.recipe(), "another stem: other names in the site");
        assert_eq!(a.cache_recipe(), b.cache_recipe(), "the same cache files");
        let mut other_bytes = info(1000, 750, false);
        other_bytes.hash = "h2".into();
        let c = derivatives(&source(), PathBuf::new(), other_bytes, &s);
        assert_ne!(a.cache_recipe(), c.cache_recipe());
        let d = derivatives(&source(), PathBuf::new(), info(1000, 700, false), &s);
        assert_ne!(a.recipe(), d.recipe(), "another size");
        let e = derivatives(&source(), PathBuf::new(), info(1000, 750, true), &s);
        assert_ne!(a.recipe(), e.recipe(), "PNG instead of JPEG");
        let same = derivatives(&source(), PathBuf::new(), info(1000, 750, false), &s);
        assert_eq!((a.recipe(), names(&a)), (same.recipe(), names(&same)));
    }

    #[test]
    fn keys_change_with_settings() {
        let a = derivatives(
            &source(),
            PathBuf::new(),
            info(1000, 750, false),
            &ImageSettings::default(),
        );
        let s = ImageSettings {
            quality: 60,
            ..ImageSettings::default()
        };
        let b = derivatives(&source(), PathBuf::new(), info(1000, 750, false), &s);
        assert_ne!(a.names(&a.modern[0]).cache_file, b.names(&b.modern[0]).cache_file);
        assert_ne!(a.cache_recipe(), b.cache_recipe(), "the cache record sees it");
        assert_ne!(a.recipe(), b.recipe(), "the manifest sees it");
    }
}
