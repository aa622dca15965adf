//! How the content folder is shown in diagnostics, and so cached.

use std::path::Path;

/// How the content folder is shown in diagnostics (`content/chalets/…`) and so cached (the
/// validation cache keys on how paths are shown): one spelling per folder. Inside the working
/// folder, relative to it, however it was given (`content`, `./content/`, its absolute path,
/// `../here/content`, a link to it); elsewhere, as given, without a trailing `/` or a leading
/// `./` (a link to a folder elsewhere is shown by its own name, as typed).
pub(super) fn display_root(content: &Path) -> String {
    shown_from(content, std::env::current_dir().ok().as_deref())
}

fn shown_from(content: &Path, cwd: Option<&Path>) -> String {
    let inside = cwd.and_then(|cwd| {
        let (cwd, dir) = (cwd.canonicalize().ok()?, content.canonicalize().ok()?);
        dir.strip_prefix(&cwd).ok().map(Path::to_path_buf)
    });
    if let Some(rel) = inside {
        return match rel.to_str() {
            Some("") => ".".to_string(),
            _ => rel.display().to_string(),
        };
    }
    let mut s = content.display().to_string();
    while let Some(rest) = s.strip_prefix("./").filter(|r| !r.is_empty()) {
        s = rest.trim_start_matches('/').to_string();
    }
    s.trim_end_matches('/').to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_content_folder_spelt_another_way_is_shown_the_same() {
        // Outside the working folder (or with none), as given without `./` or a trailing `/`.
        for spelt in ["content", "content/", "./content", ".//content/", "././content"] {
            assert_eq!(shown_from(Path::new(spelt), None), "content", "{spelt}");
        }
        assert_eq!(shown_from(Path::new("./"), None), ".");
        assert_eq!(shown_from(Path::new("market/content"), None), "market/content");
        assert_eq!(shown_from(Path::new("/srv/content/"), None), "/srv/content");

        // Inside it, relative to it, whichever way it is reached.
        let tmp = tempfile::tempdir().expect("tmp");
        let cwd = tmp.path().join("market");
        std::fs::create_dir_all(cwd.join("content")).expect("mkdir");
        let name = cwd.file_name().expect("name").to_string_lossy().into_owned();
        let absolute = cwd.join("content");
        let up = Path::new("..").join(&name).join("content");
        for spelt in [
            absolute.as_path(),
            Path::new("content"),
            Path::new("./content/"),
            up.as_path(),
        ] {
            // A relative spelling is read from the working folder: joined here, as the system would.
            let given = if spelt.is_absolute() {
                spelt.to_path_buf()
            } else {
                cwd.join(spelt)
            };
            assert_eq!(shown_from(&given, Some(&cwd)), "content", "{}", spelt.display());
        }
        assert_eq!(shown_from(&cwd, Some(&cwd)), ".");
        // A link is followed to where the folder is; one to a folder elsewhere is kept as named.
        #[cfg(unix)]
        {
            std::os::unix::fs::symlink(cwd.join("content"), cwd.join("linked")).expect("link");
            assert_eq!(shown_from(&cwd.join("linked"), Some(&cwd)), "content");
            let away = tmp.path().join("away");
            std::fs::create_dir(&away).expect("mkdir");
            std::os::unix::fs::symlink(&away, cwd.join("elsewhere")).expect("link");
            let elsewhere = cwd.join("elsewhere");
            assert_eq!(shown_from(&elsewhere, Some(&cwd)), elsewhere.display().to_string());
        }
    }
}
