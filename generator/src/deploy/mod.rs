//! `chalet deploy`: publishing `dist/` to the S3 bucket behind CloudFront. The plan is pure and
//! unit-tested: what to upload (with `Content-Type` and `Cache-Control`), in which order (assets
//! and images before the HTML that references them, deletions last, so no visitor ever gets a
//! page whose images are missing), what is unchanged (MD5 = S3 ETag), and which paths to
//! invalidate. Carrying it out ([`aws`]) is a thin layer over the `aws` CLI, so building a site
//! never compiles an AWS SDK.

pub mod aws;

use crate::mime::{cache_control, content_type, is_immutable, is_page};
use md5::{Digest, Md5};
use rayon::prelude::*;
use std::collections::HashMap;
use std::path::Path;

/// More changed pages than this and one `/*` invalidation is cheaper than listing them.
pub const MAX_INVALIDATION_PATHS: usize = 30;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LocalFile {
    pub path: String,
    /// The ETag S3 will report once the aws CLI has uploaded it ([`s3_etag`]).
    pub md5: String,
}

/// The aws CLI uploads files above 8 MiB in 8 MiB parts (its `multipart_threshold` and
/// `multipart_chunksize` defaults, "AWS CLI S3 configuration").
pub const MULTIPART_CHUNK: usize = 8 * 1024 * 1024;

/// What S3 reports as the ETag of `bytes` uploaded by the aws CLI: the MD5 for a single-part
/// upload; for a multipart one, the MD5 of the parts' MD5s followed by `-<parts>`. Comparing
/// with a plain MD5 would re-upload every large file on every deployment.
pub fn s3_etag(bytes: &[u8]) -> String {
    if bytes.len() <= MULTIPART_CHUNK {
        return crate::fs::hex(&Md5::digest(bytes));
    }
    let mut all = Md5::new();
    let mut parts = 0;
    for chunk in bytes.chunks(MULTIPART_CHUNK) {
        all.update(Md5::digest(chunk));
        parts += 1;
    }
    format!("{}-{parts}", crate::fs::hex(&all.finalize()))
}

/// The bucket key recording the hashed files the last deployment stopped using: they are
/// deleted by the next one, so pages still cached for their 60 seconds (in CloudFront or a
/// browser) never point at a missing stylesheet or photo.
pub const RETIRED_KEY: &str = "_chalet/retired.txt";

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RemoteObject {
    pub key: String,
    /// As S3 reports it (quoted hex MD5 for single-part uploads).
    pub etag: String,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Upload {
    pub path: String,
    pub content_type: &'static str,
    pub cache_control: &'static str,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SyncPlan {
    /// In order: everything that is not a page first, then the pages.
    pub uploads: Vec<Upload>,
    pub deletes: Vec<String>,
    pub unchanged: usize,
    /// CloudFront paths whose cached copy is now stale.
    pub invalidate: Vec<String>,
    /// Hashed files no page uses any more, kept until the next deployment ([`RETIRED_KEY`]).
    pub retire: Vec<String>,
}

/// Plans the sync of `local` (the built site) onto `remote` (the bucket's listing);
/// `retired_before` is what the previous deployment retired ([`RETIRED_KEY`]).
pub fn plan(local: &[LocalFile], remote: &[RemoteObject], retired_before: &[String]) -> SyncPlan {
    let remote_etags: HashMap<&str, &str> = remote
        .iter()
        .map(|r| (r.key.as_str(), r.etag.trim_matches('"')))
        .collect();
    // Files of the build's own bookkeeping (`.chalet-manifest`) are never published.
    let publishable = |p: &str| !p.split('/').any(|part| part.starts_with('.'));
    let mut plan = SyncPlan::default();
    let mut assets = Vec::new();
    let mut pages = Vec::new();
    for f in local.iter().filter(|f| publishable(&f.path)) {
        if remote_etags.get(f.path.as_str()) == Some(&f.md5.as_str()) {
            plan.unchanged += 1;
            continue;
        }
        let upload = Upload {
            path: f.path.clone(),
            content_type: content_type(Path::new(&f.path)),
            cache_control: cache_control(&f.path),
        };
        if is_page(&f.path) {
            pages.push(upload)
        } else {
            assets.push(upload)
        }
    }
    assets.sort_by(|a, b| a.path.cmp(&b.path));
    pages.sort_by(|a, b| a.path.cmp(&b.path));
    let local_paths: std::collections::HashSet<&str> = local.iter().map(|f| f.path.as_str()).collect();
    let retired_before: std::collections::HashSet<&str> = retired_before.iter().map(String::as_str).collect();
    for key in remote.iter().map(|r| &r.key) {
        if local_paths.contains(key.as_str()) || key == RETIRED_KEY {
            continue;
        }
        if is_immutable(key) && !retired_before.contains(key.as_str()) {
            plan.retire.push(key.clone());
        } else {
            plan.deletes.push(key.clone());
        }
    }
    plan.deletes.sort();
    plan.retire.sort();
    // Immutable files are new names, never stale; changed or removed pages are, under both
    // addresses a visitor may have used (`/x/` and `/x/index.html`).
    let mut stale: Vec<String> = pages
        .iter()
        .map(|u| u.path.clone())
        .chain(plan.deletes.iter().filter(|k| is_page(k)).cloned())
        .flat_map(|p| {
            let folder = p.strip_suffix("index.html").map(|f| format!("/{f}"));
            std::iter::once(format!("/{p}")).chain(folder)
        })
        .collect();
    stale.sort();
    plan.invalidate = if stale.len() > MAX_INVALIDATION_PATHS {
        vec!["/*".to_string()]
    } else {
        stale
    };
    plan.uploads = assets;
    plan.uploads.extend(pages);
    plan
}

/// The S3 ETag of every file under `dir` ([`s3_etag`]); hidden
/// files, the build's bookkeeping, are not part of the site.
pub fn local_files(dir: &Path) -> std::io::Result<Vec<LocalFile>> {
    crate::fs::files_under(dir)?
        .into_par_iter()
        .map(|(path, full)| {
            let bytes = crate::fs::read(&full)?;
            Ok(LocalFile {
                path,
                md5: s3_etag(&bytes),
            })
        })
        .collect()
}

/// Reads `aws s3api list-objects-v2 --output json`: `{"Contents": [{"Key", "ETag"}, …]}`.
pub fn parse_listing(json: &str) -> Result<Vec<RemoteObject>, String> {
    let v: serde_json::Value = serde_json::from_str(json).map_err(|e| format!("not a bucket listing: {e}"))?;
    let Some(items) = v.get("Contents") else {
        return Ok(Vec::new());
    };
    items
        .as_array()
        .ok_or("`Contents` is not a list")?
        .iter()
        .map(|o| {
            let key = o["Key"].as_str().ok_or("an object without `Key`")?;
            let etag = o["ETag"].as_str().ok_or("an object without `ETag`")?;
            Ok(RemoteObject {
                key: key.to_string(),
                etag: etag.to_string(),
            })
        })
        .collect()
}

/// The plan as lines a person can review (`--dry-run` prints exactly this).
pub fn describe(plan: &SyncPlan, bucket: &str) -> String {
    let mut out = String::new();
    for u in &plan.uploads {
        out.push_str(&format!(
            "upload  s3://{bucket}/{}  ({}; {})\n",
            u.path, u.content_type, u.cache_control
        ));
    }
    for d in &plan.deletes {
        out.push_str(&format!("delete  s3://{bucket}/{d}\n"));
    }
    for r in &plan.retire {
        out.push_str(&format!(
            "retire  s3://{bucket}/{r}  (deleted by the next deployment)\n"
        ));
    }
    if !plan.invalidate.is_empty() {
        out.push_str(&format!("invalidate  {}\n", plan.invalidate.join(" ")));
    }
    out.push_str(&format!(
        "{} to upload, {} to delete, {} retired, {} unchanged\n",
        plan.uploads.len(),
        plan.deletes.len(),
        plan.retire.len(),
        plan.unchanged
    ));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn local(path: &str, md5: &str) -> LocalFile {
        LocalFile {
            path: path.into(),
            md5: md5.into(),
        }
    }

    fn remote(key: &str, md5: &str) -> RemoteObject {
        RemoteObject {
            key: key.into(),
            etag: format!("\"{md5}\""),
        }
    }

    #[test]
    fn uploads_carry_their_content_type() {
        let p = plan(
            &[
                local("images/a.webp", "1"),
                local("index.html", "2"),
                local("assets/s.css", "3"),
            ],
            &[],
            &[],
        );
        let types: Vec<(&str, &str)> = p.uploads.iter().map(|u| (u.path.as_str(), u.content_type)).collect();
        assert_eq!(
            types,
            vec![
                ("assets/s.css", "text/css; charset=utf-8"),
                ("images/a.webp", "image/webp"),
                ("index.html", "text/html; charset=utf-8")
            ]
        );
    }

    #[test]
    fn assets_before_pages_deletions_last_and_unchanged_skipped() {
        let l = [
            local("index.html", "new"),
            local("images/b.webp", "b"),
            local("chalets/x/index.html", "same"),
            local(".chalet-manifest", "m"),
        ];
        let r = [
            remote("chalets/x/index.html", "same"),
            remote("images/old.webp", "o"),
            remote("chalets/gone/index.html", "g"),
            remote("index.html", "old"),
        ];
        let p = plan(&l, &r, &[]);
        let order: Vec<&str> = p.uploads.iter().map(|u| u.path.as_str()).collect();
        assert_eq!(
            order,
            vec!["images/b.webp", "index.html"],
            "the image the page may use goes first; the unchanged page not at all"
        );
        assert_eq!(p.unchanged, 1);
        assert_eq!(p.deletes, vec!["chalets/gone/index.html"]);
        assert_eq!(
            p.retire,
            vec!["images/old.webp"],
            "a page cached for 60 s may still use it"
        );
        assert_eq!(
            p.invalidate,
            vec!["/", "/chalets/gone/", "/chalets/gone/index.html", "/index.html"],
            "only pages can be stale, under both their addresses"
        );
        assert!(
            !describe(&p, "b").contains(".chalet-manifest"),
            "bookkeeping is never published"
        );
    }

    #[test]
    fn nothing_to_do_when_nothing_changed() {
        let l = [local("index.html", "a"), local("images/x.webp", "b")];
        let p = plan(&l, &[remote("index.html", "a"), remote("images/x.webp", "b")], &[]);
        assert_eq!(
            (p.uploads.len(), p.deletes.len(), p.unchanged, p.invalidate.len()),
            (0, 0, 2, 0)
        );
    }

    #[test]
    fn many_stale_pages_become_one_wildcard() {
        let l: Vec<LocalFile> = (0..40).map(|i| local(&format!("p{i}/index.html"), "x")).collect();
        assert_eq!(plan(&l, &[], &[]).invalidate, vec!["/*"]);
    }

    #[test]
    fn retired_files_are_deleted_by_the_next_deployment_only() {
        let l = [local("index.html", "a")];
        let r = [
            remote("index.html", "a"),
            remote("assets/style.old.css", "s"),
            remote("assets/style.older.css", "t"),
            remote(RETIRED_KEY, "r"),
        ];
        let p = plan(&l, &r, &["assets/style.older.css".to_string()]);
        assert_eq!(
            p.deletes,
            vec!["assets/style.older.css"],
            "retired by the previous deployment"
        );
        assert_eq!(p.retire, vec!["assets/style.old.css"], "kept one deployment longer");
    }

    #[test]
    fn multipart_etags_are_what_s3_reports() {
        assert_eq!(s3_etag(b""), "d41d8cd98f00b204e9800998ecf8427e");
        // 8 MiB + 1 byte of zeros: two parts. The value computed independently with Python's
        // hashlib: md5(md5(8 MiB of zeros) + md5(one zero byte)) + "-2".
        let bytes = vec![0u8; MULTIPART_CHUNK + 1];
        assert_eq!(s3_etag(&bytes), "a5eb57d36bf73a683183c5a0fb4a37ab-2");
        assert_eq!(
            s3_etag(&bytes[..MULTIPART_CHUNK]).len(),
            32,
            "exactly 8 MiB is one part"
        );
    }

    #[test]
    fn reads_the_aws_cli_listing() {
        let json = r#"{"Contents": [{"Key": "index.html", "ETag": "\"abc\"", "Size": 1}], "RequestCharged": null}"#;
        assert_eq!(
            parse_listing(json),
            Ok(vec![RemoteObject {
                key: "index.html".into(),
                etag: "\"abc\"".into()
            }])
        );
        assert_eq!(parse_listing("{}"), Ok(vec![]), "an empty bucket has no Contents");
        assert!(parse_listing("[").is_err());
    }
}
