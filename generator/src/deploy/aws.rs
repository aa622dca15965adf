//! Carrying out a sync plan with the `aws` CLI (so building a site never compiles an AWS SDK):
//! uploads in plan order, deletions last, then one CloudFront invalidation.

use super::{RETIRED_KEY, SyncPlan, Upload, describe, local_files, parse_listing, plan};
use std::path::PathBuf;

/// What `chalet deploy` was asked to do.
#[derive(Clone, Debug)]
pub struct DeployOptions {
    pub bucket: String,
    pub distribution: Option<String>,
    /// The built site.
    pub out: PathBuf,
    pub dry_run: bool,
    /// The bucket's listing (`aws s3api list-objects-v2 --output json`) instead of asking AWS.
    pub remote_listing: Option<PathBuf>,
}

#[derive(Debug, thiserror::Error)]
pub enum DeployError {
    #[error("{0} holds no built site: run `chalet build` first")]
    NotBuilt(PathBuf),
    #[error("{0}")]
    Io(#[from] std::io::Error),
    #[error("{path}: not a bucket listing: {reason}")]
    Listing { path: String, reason: String },
    #[error("cannot run the aws CLI; install it and configure credentials")]
    NoCli(#[source] std::io::Error),
    #[error("aws {command} failed: {stderr}")]
    Aws { command: String, stderr: String },
}

/// Plans the sync and prints it; unless `dry_run`, carries it out. Returns the plan.
pub fn deploy(opts: &DeployOptions, print: &mut dyn FnMut(&str)) -> Result<SyncPlan, DeployError> {
    let out = &opts.out;
    if !out.join("index.html").is_file() {
        return Err(DeployError::NotBuilt(out.clone()));
    }
    let local = local_files(out)?;
    let (listing, source) = match &opts.remote_listing {
        Some(path) => (crate::fs::read_to_string(path)?, path.display().to_string()),
        None if opts.dry_run => {
            print("(no --remote-listing: planning against an empty bucket)\n");
            ("{}".to_string(), "an empty bucket".to_string())
        }
        None => (
            aws(&["s3api", "list-objects-v2", "--bucket", &opts.bucket, "--output", "json"])?,
            format!("s3://{}", opts.bucket),
        ),
    };
    let remote = parse_listing(&listing).map_err(|reason| DeployError::Listing { path: source, reason })?;
    // What the previous deployment retired; a dry run against a listing deletes none of it.
    let retired: Vec<String> = if opts.remote_listing.is_some() || opts.dry_run {
        Vec::new()
    } else {
        aws(&["s3", "cp", &format!("s3://{}/{RETIRED_KEY}", opts.bucket), "-"])
            .map(|text| text.lines().map(str::to_string).filter(|l| !l.is_empty()).collect())
            .unwrap_or_default()
    };
    let plan = plan(&local, &remote, &retired);
    print(&describe(&plan, &opts.bucket));
    if opts.dry_run {
        return Ok(plan);
    }
    carry_out(&plan, opts)?;
    Ok(plan)
}

/// How many files one `aws s3 cp --recursive` takes (its `--include` list stays far below the
/// command line limit); the CLI uploads each batch with its own parallel transfers.
const BATCH: usize = 500;

fn carry_out(plan: &SyncPlan, opts: &DeployOptions) -> Result<(), DeployError> {
    let bucket = &opts.bucket;
    // Consecutive uploads with the same headers go together, so the plan's order (assets before
    // the pages that use them) holds between batches.
    let mut batches: Vec<Vec<&Upload>> = Vec::new();
    for u in &plan.uploads {
        match batches.last_mut() {
            Some(b)
                if b.len() < BATCH
                    && b[0].content_type == u.content_type
                    && b[0].cache_control == u.cache_control
                    && crate::mime::is_page(&b[0].path) == crate::mime::is_page(&u.path) =>
            {
                b.push(u)
            }
            _ => batches.push(vec![u]),
        }
    }
    let out = opts.out.to_string_lossy().into_owned();
    let target = format!("s3://{bucket}/");
    for batch in batches {
        let mut args = vec![
            "s3",
            "cp",
            out.as_str(),
            target.as_str(),
            "--recursive",
            "--exclude",
            "*",
        ];
        for u in &batch {
            args.extend(["--include", u.path.as_str()]);
        }
        args.extend([
            "--content-type",
            batch[0].content_type,
            "--cache-control",
            batch[0].cache_control,
            "--only-show-errors",
        ]);
        aws(&args)?;
    }
    for d in &plan.deletes {
        aws(&["s3", "rm", &format!("s3://{bucket}/{d}"), "--only-show-errors"])?;
    }
    // Recorded for the next deployment, which deletes them.
    let list = opts.out.with_extension("retired.txt");
    crate::fs::write(&list, plan.retire.join("\n").as_bytes())?;
    let recorded = aws(&[
        "s3",
        "cp",
        &list.to_string_lossy(),
        &format!("s3://{bucket}/{RETIRED_KEY}"),
        "--content-type",
        "text/plain; charset=utf-8",
        "--only-show-errors",
    ]);
    let _ = std::fs::remove_file(&list);
    recorded?;
    if let Some(id) = &opts.distribution
        && !plan.invalidate.is_empty()
    {
        let mut args = vec!["cloudfront", "create-invalidation", "--distribution-id", id, "--paths"];
        args.extend(plan.invalidate.iter().map(String::as_str));
        aws(&args)?;
    }
    Ok(())
}

fn aws(args: &[&str]) -> Result<String, DeployError> {
    let out = std::process::Command::new("aws")
        .args(args)
        .output()
        .map_err(DeployError::NoCli)?;
    if !out.status.success() {
        return Err(DeployError::Aws {
            command: args.iter().take(2).copied().collect::<Vec<_>>().join(" "),
            stderr: String::from_utf8_lossy(&out.stderr).trim().to_string(),
        });
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}
