//! Helpers shared by the integration tests: fixtures copied into temp folders, the `chalet`
//! binary run in them, and a digest of a folder tree to prove "untouched".

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

pub fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(name)
}

pub fn themes() -> PathBuf {
    repo().join("themes")
}

/// Copies `fixtures/<name>/content` to `<tmp>/content` and returns `<tmp>`.
pub fn site_in_temp(name: &str) -> tempfile::TempDir {
    let tmp = tempfile::tempdir().expect("temp dir");
    copy_dir(&fixture(name).join("content"), &tmp.path().join("content"));
    tmp
}

pub fn copy_dir(from: &Path, to: &Path) {
    for entry in walkdir::WalkDir::new(from) {
        let entry = entry.expect("walk");
        let rel = entry.path().strip_prefix(from).expect("prefix");
        let target = to.join(rel);
        if entry.file_type().is_dir() {
            std::fs::create_dir_all(&target).expect("mkdir");
        } else {
            std::fs::copy(entry.path(), &target).expect("copy");
        }
    }
}

pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

/// Runs the `chalet` binary in `dir` with `--themes` pointing at the repository's themes.
pub fn chalet(dir: &Path, args: &[&str]) -> Run {
    let out = Command::new(env!("CARGO_BIN_EXE_chalet"))
        .current_dir(dir)
        .args(args)
        .output()
        .expect("run chalet");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Every file under `dir` with its bytes: equal trees have equal maps.
pub fn tree(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    if !dir.exists() {
        return out;
    }
    for entry in walkdir::WalkDir::new(dir).sort_by_file_name() {
        let entry = entry.expect("walk");
        if entry.file_type().is_file() {
            let rel = entry
                .path()
                .strip_prefix(dir)
                .expect("prefix")
                .to_string_lossy()
                .into_owned();
            out.insert(rel, std::fs::read(entry.path()).expect("read"));
        }
    }
    out
}

pub fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// A clean build of `dir/content` (themes in `dir/themes`) into `dir/clean`, with an empty cache
/// of its own: what every incremental build must equal. Returns its files.
pub fn clean_build(dir: &Path, step: &str) -> BTreeMap<String, Vec<u8>> {
    let _ = std::fs::remove_dir_all(dir.join("clean"));
    let _ = std::fs::remove_dir_all(dir.join("clean-cache"));
    let args = [
        "build",
        "--content",
        "content",
        "--themes",
        "themes",
        "--out",
        "clean",
        "--cache",
        "clean-cache",
    ];
    let clean = chalet(dir, &args);
    assert_eq!(clean.code, 0, "{step}: {}", clean.stderr);
    tree(&dir.join("clean"))
}

/// The files whose bytes differ between two trees (or that only one has).
pub fn differing<'a>(a: &'a BTreeMap<String, Vec<u8>>, b: &'a BTreeMap<String, Vec<u8>>) -> Vec<&'a String> {
    let mut out: Vec<&String> = a.keys().chain(b.keys()).filter(|k| a.get(*k) != b.get(*k)).collect();
    out.dedup();
    out
}
