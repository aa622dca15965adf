//! `chalet deploy --dry-run` on a real build against a bucket listing: what it prints is the plan.

use crate::common::*;

#[test]
fn dry_run_prints_the_plan_against_a_listing_and_changes_nothing() {
    let tmp = site_in_temp("valid/minimal");
    assert_eq!(
        chalet(tmp.path(), &["build", "--themes", themes().to_str().expect("utf8")]).code,
        0
    );
    let index_md5 = {
        use md5::Digest;
        let bytes = std::fs::read(tmp.path().join("dist/index.html")).expect("index");
        md5::Md5::digest(&bytes)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    };
    let listing = format!(
        r#"{{"Contents": [{{"Key": "index.html", "ETag": "\"{index_md5}\""}}, {{"Key": "chalets/ancien/index.html", "ETag": "\"0\""}}]}}"#
    );
    std::fs::write(tmp.path().join("listing.json"), listing).expect("write");
    let before = tree(&tmp.path().join("dist"));
    let run = chalet(
        tmp.path(),
        &[
            "deploy",
            "--bucket",
            "marche",
            "--dry-run",
            "--remote-listing",
            "listing.json",
        ],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let lines: Vec<&str> = run.stdout.lines().collect();
    let first_page = lines
        .iter()
        .position(|l| l.contains(".html"))
        .expect("pages are uploaded");
    let last_asset = lines
        .iter()
        .rposition(|l| l.contains("/images/") || l.contains("/assets/"))
        .expect("assets are uploaded");
    assert!(last_asset < first_page, "assets before pages:\n{}", run.stdout);
    assert!(
        run.stdout.contains("upload  s3://marche/assets/style."),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout
            .contains("(text/css; charset=utf-8; public, max-age=31536000, immutable)")
    );
    assert!(
        run.stdout
            .contains("(text/html; charset=utf-8; public, max-age=60, must-revalidate)")
    );
    assert!(
        !run.stdout.contains("upload  s3://marche/index.html "),
        "unchanged index.html is not uploaded again"
    );
    assert!(
        lines[lines.len() - 3].starts_with("delete  s3://marche/chalets/ancien/index.html"),
        "deletions come last:\n{}",
        run.stdout
    );
    assert!(run.stdout.contains("invalidate  "), "{}", run.stdout);
    assert!(!run.stdout.contains(".chalet-manifest"));
    assert!(
        run.stdout.ends_with("1 to delete, 0 retired, 1 unchanged\n"),
        "{}",
        run.stdout
    );
    assert_eq!(tree(&tmp.path().join("dist")), before);
}

/// Regression: the listing behind the deletion plan once skipped what it could not read, and a
/// file missing from it would have been deleted from the live bucket. Now the plan is refused.
#[test]
fn an_unreadable_entry_aborts_the_plan() {
    let tmp = site_in_temp("valid/minimal");
    assert_eq!(
        chalet(tmp.path(), &["build", "--themes", themes().to_str().expect("utf8")]).code,
        0
    );
    // As root every permission check passes, so the unreadable entry is a dangling link.
    std::os::unix::fs::symlink("/nonexistent/page.html", tmp.path().join("dist/chalets/gone.html")).expect("link");
    let run = chalet(tmp.path(), &["deploy", "--bucket", "marche", "--dry-run"]);
    assert_eq!(run.code, 2, "{}", run.stdout);
    assert!(
        run.stderr.contains("gone.html") && run.stderr.contains("not a regular file"),
        "{}",
        run.stderr
    );
    assert!(!run.stdout.contains("upload"), "no plan is printed:\n{}", run.stdout);
}
