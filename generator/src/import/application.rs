//! `chalet import <application-id>`: an application sent online through the form. The checkout
//! function owns applications (its table, its bucket, the AWS credentials): its command
//! `checkout-fn applications --fetch <id>` downloads the zip, checked against the SHA-256
//! recorded when the artisan sent it, and this imports that zip like any other — checking the
//! SHA-256 once more, so what is imported is what the artisan sent.

use super::{ImportError, ImportOptions, Imported};
use std::path::PathBuf;
use std::process::Command;

/// An application's id as the function makes them: 32 lowercase hexadecimal digits.
pub fn is_id(text: &str) -> bool {
    text.len() == 32 && text.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// The `checkout-fn` program: `$CHALET_CHECKOUT_FN`, else the one beside `chalet` (both are
/// built into the same folder), else the one on the `PATH`.
fn checkout_fn() -> PathBuf {
    if let Some(p) = std::env::var_os("CHALET_CHECKOUT_FN").filter(|p| !p.is_empty()) {
        return PathBuf::from(p);
    }
    let beside = std::env::current_exe().ok().and_then(|exe| {
        Some(
            exe.parent()?
                .join(format!("checkout-fn{}", std::env::consts::EXE_SUFFIX)),
        )
    });
    beside
        .filter(|p| p.is_file())
        .unwrap_or_else(|| PathBuf::from("checkout-fn"))
}

/// Fetches application `opts.source` (an id) and imports its zip.
pub fn import(opts: &ImportOptions) -> Result<Imported, ImportError> {
    let id = opts.source.display().to_string();
    let dir = tempfile::tempdir()?;
    let program = checkout_fn();
    let out = Command::new(&program)
        .args(["applications", "--fetch", &id, "--out"])
        .arg(dir.path())
        .output()
        .map_err(|e| {
            std::io::Error::other(format!(
                "`{}` could not be run to fetch application {id} ({e}): build it (`cargo build --release -p checkout-fn`) or set CHALET_CHECKOUT_FN",
                program.display()
            ))
        })?;
    if !out.status.success() {
        let said = String::from_utf8_lossy(&out.stderr);
        let said = said
            .lines()
            .rev()
            .find(|l| !l.trim().is_empty())
            .unwrap_or("no reason given");
        return Err(ImportError::Fetch(format!(
            "application {id} could not be fetched: {said}"
        )));
    }
    let line: serde_json::Value = String::from_utf8_lossy(&out.stdout)
        .lines()
        .rev()
        .find_map(|l| serde_json::from_str(l).ok())
        .ok_or_else(|| ImportError::Fetch(format!("`{}` said nothing about application {id}", program.display())))?;
    let (Some(path), Some(sha)) = (line["path"].as_str(), line["zip_sha256"].as_str()) else {
        return Err(ImportError::Fetch(format!("application {id}: no zip in `{line}`")));
    };
    // Named after the application, so problems point at `<id>.zip/…`.
    let zip = dir.path().join(format!("{id}.zip"));
    if std::path::Path::new(path) != zip {
        std::fs::rename(path, &zip)?;
    }
    let mut fetched = opts.clone();
    fetched.source = zip;
    fetched.sha256 = Some(sha.to_string());
    super::import(&fetched)
}
