//! Resolving a file reference written in content to a path inside the content folder.
//! Artisan content is untrusted: nothing may point outside the folder, at a URL, or at a
//! file that is not an image.

use crate::load::ContentFiles;

/// Image files larger than this are refused before anything decodes them.
pub const MAX_IMAGE_BYTES: u64 = 25 * 1024 * 1024;

/// What the image pipeline decodes (the `image` crate's features in the workspace manifest).
pub const IMAGE_EXTENSIONS: [&str; 5] = ["jpg", "jpeg", "png", "webp", "gif"];

/// Photo formats phones produce that the pipeline cannot decode: refused here, with a way out,
/// rather than accepted and failing in the encoder.
const UNSUPPORTED_PHOTOS: [&str; 4] = ["avif", "heic", "heif", "tiff"];

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PathProblem {
    Url,
    Escapes,
    NotAnImage,
    Unsupported(String),
    Missing { suggestion: Option<String> },
    TooLarge(u64),
    Empty,
}

impl PathProblem {
    pub fn explain(&self, reference: &str) -> (String, Option<String>) {
        match self {
            PathProblem::Url => (
                format!("image `{reference}` is a web address; images must be files in the content folder"),
                Some("download the picture into the chalet folder and name the file instead".into()),
            ),
            PathProblem::Escapes => (
                format!("image `{reference}` points outside the content folder"),
                Some("put the image inside the chalet's folder and name it relative to this file".into()),
            ),
            PathProblem::NotAnImage => (
                format!("`{reference}` is not an image file"),
                Some(format!("use one of: {}", IMAGE_EXTENSIONS.join(", "))),
            ),
            PathProblem::Unsupported(ext) => (
                format!("image `{reference}` is a .{ext} photo, which the market cannot read yet"),
                Some(format!(
                    "export it as JPEG (or PNG); accepted: {}",
                    IMAGE_EXTENSIONS.join(", ")
                )),
            ),
            PathProblem::Missing { suggestion } => (
                format!("image `{reference}` does not exist"),
                Some(match suggestion {
                    Some(s) => format!("did you mean `{s}`? (paths are relative to this file)"),
                    None => "paths are relative to the file that names them".into(),
                }),
            ),
            PathProblem::TooLarge(len) => (
                format!(
                    "image `{reference}` is {:.1} MB; the limit is {} MB",
                    *len as f64 / 1e6,
                    MAX_IMAGE_BYTES / 1024 / 1024
                ),
                Some("export a smaller JPEG (a phone photo is 3–8 MB)".into()),
            ),
            PathProblem::Empty => (format!("image `{reference}` is an empty file"), None),
        }
    }
}

/// `reference` as written in `from` (content-relative, `/`-separated) → content-relative path.
/// `/x.png` is relative to the content folder; anything else to the directory of `from`.
pub fn resolve_image(files: &ContentFiles, from: &str, reference: &str) -> Result<String, PathProblem> {
    let reference = reference.trim();
    if reference.contains("://") || reference.starts_with("data:") || reference.starts_with("//") {
        return Err(PathProblem::Url);
    }
    let rel = normalise(from, reference).ok_or(PathProblem::Escapes)?;
    let ext = rel
        .rsplit_once('.')
        .map(|(_, e)| e.to_ascii_lowercase())
        .unwrap_or_default();
    if UNSUPPORTED_PHOTOS.contains(&ext.as_str()) {
        return Err(PathProblem::Unsupported(ext));
    }
    if !IMAGE_EXTENSIONS.contains(&ext.as_str()) {
        return Err(PathProblem::NotAnImage);
    }
    match files.others.get(&rel) {
        Some(meta) if meta.len == 0 => Err(PathProblem::Empty),
        Some(meta) if meta.len > MAX_IMAGE_BYTES => Err(PathProblem::TooLarge(meta.len)),
        Some(_) => Ok(rel),
        None => {
            // `café.png` typed on one system (NFC) and saved by another (NFD, as macOS does) is
            // the same name: match the forms before calling it missing.
            use unicode_normalization::UnicodeNormalization;
            let nfc: String = rel.nfc().collect();
            let folder = |p: &str| p.rsplit_once('/').map_or(String::new(), |(d, _)| d.nfc().collect());
            let here = folder(&rel);
            let same_name: Vec<&str> = files
                .others
                .keys()
                .filter(|k| folder(k) == here && k.nfc().eq(nfc.chars()))
                .collect();
            if let [only] = same_name.as_slice() {
                return match files.others.get(only) {
                    Some(meta) if meta.len == 0 => Err(PathProblem::Empty),
                    Some(meta) if meta.len > MAX_IMAGE_BYTES => Err(PathProblem::TooLarge(meta.len)),
                    _ => Ok(only.to_string()),
                };
            }
            let dir = rel.rsplit_once('/').map_or("", |(d, _)| d);
            let name = rel.rsplit('/').next().unwrap_or(&rel);
            let siblings = files
                .others
                .keys()
                .filter(|k| k.rsplit_once('/').map_or("", |(d, _)| d) == dir)
                .map(|k| k.rsplit('/').next().unwrap_or(k));
            let suggestion = crate::diagnostic::did_you_mean(name, siblings).map(str::to_string);
            Err(PathProblem::Missing { suggestion })
        }
    }
}

/// Joins and normalises `..` and `.`; `None` when the result would leave the root.
pub fn normalise(from: &str, reference: &str) -> Option<String> {
    let mut parts: Vec<&str> = Vec::new();
    if !reference.starts_with('/') {
        parts.extend(from.split('/').filter(|p| !p.is_empty()));
        parts.pop(); // the file name itself
    }
    for part in reference.split(['/', '\\']) {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            p => parts.push(p),
        }
    }
    (!parts.is_empty()).then(|| parts.join("/"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalises_inside_and_refuses_escapes() {
        assert_eq!(
            normalise("chalets/a/products/p.md", "p.jpg").as_deref(),
            Some("chalets/a/products/p.jpg")
        );
        assert_eq!(
            normalise("chalets/a/products/p.md", "../cover.jpg").as_deref(),
            Some("chalets/a/cover.jpg")
        );
        assert_eq!(
            normalise("chalets/a/chalet.yaml", "/sponsors/x.png").as_deref(),
            Some("sponsors/x.png")
        );
        assert_eq!(normalise("chalets/a/chalet.yaml", "../../../etc/passwd"), None);
        assert_eq!(normalise("market.yaml", "..\\secret.png"), None);
    }

    #[test]
    fn an_nfc_reference_finds_an_nfd_file() {
        let mut files = ContentFiles::default();
        // "café.png" with a combining accent (NFD), as macOS saves it.
        let nfd = "chalets/a/cafe\u{301}.png".to_string();
        files
            .others
            .insert(&nfd, crate::load::FileMeta { len: 10, mtime_ns: 0 });
        assert_eq!(resolve_image(&files, "chalets/a/chalet.yaml", "caf\u{e9}.png"), Ok(nfd));
    }

    #[test]
    fn avif_is_refused_at_the_path_check_with_a_way_out() {
        let files = ContentFiles::default();
        let e = resolve_image(&files, "chalets/a/chalet.yaml", "cover.AVIF").expect_err("refused");
        assert_eq!(e, PathProblem::Unsupported("avif".into()));
        let (message, hint) = e.explain("cover.AVIF");
        assert!(message.contains(".avif photo"), "{message}");
        assert!(hint.is_some_and(|h| h.contains("JPEG") && !h.contains("avif")));
    }
}
