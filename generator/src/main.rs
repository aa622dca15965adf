//! The `chalet` command: parse arguments, call the library, print, choose the exit code
//! (0 ok, 1 content errors, 2 usage or IO errors).

use chalet::build::{BuildError, BuildOptions, BuildReport};
use chalet::deploy::aws::{DeployOptions, deploy};
use chalet::diagnostic::write_report;
use clap::{Parser, Subcommand};
use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

// Rendering thousands of pages is mostly small allocations: glibc's malloc took ~15 % of a warm
// rebuild's instructions (callgrind); with mimalloc the 3,000-product rebuild went 0.35 → 0.31 s.
// It is told when to hand freed memory back (see the crate, and `build::purge_for`): a rebuild is
// shorter than mimalloc's default second, so it handed back nothing.
#[global_allocator]
static ALLOCATOR: chalet_allocator::MiMalloc = chalet_allocator::MiMalloc;

#[derive(Parser, Debug)]
#[command(name = "chalet", version, about = "Build the virtual Christmas market's static site")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(clap::Args, Debug, Clone)]
struct Paths {
    /// The content folder (market.yaml and chalets/)
    #[arg(long, default_value = "content")]
    content: PathBuf,
    /// Where themes live (default: themes/ next to the content folder)
    #[arg(long)]
    themes: Option<PathBuf>,
    /// The image cache (default: .cache/chalet/ next to the content folder)
    #[arg(long)]
    cache: Option<PathBuf>,
    /// Use this checkout function instead of market.yaml's checkout_url: an absolute http(s)
    /// URL (a local one) or a path on the site's own host (`/api`, as deployed)
    #[arg(long, value_parser = checkout_url)]
    checkout_url: Option<String>,
    /// Use this site address instead of market.yaml's base_url (e.g. the deployed stack's)
    #[arg(long, value_parser = base_url)]
    base_url: Option<chalet_types::SiteUrl>,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Build the site into the output folder
    Build {
        #[command(flatten)]
        paths: Paths,
        /// Output folder
        #[arg(long, default_value = "dist")]
        out: PathBuf,
    },
    /// Check everything a build would, write nothing
    Check {
        #[command(flatten)]
        paths: Paths,
    },
    /// Create a new chalet folder with a commented example
    New {
        /// The chalet's slug: lowercase letters, digits and hyphens (e.g. la-cire-d-anais)
        slug: String,
        #[arg(long, default_value = "content")]
        content: PathBuf,
    },
    /// Take an artisan's chalet (a .zip or a folder) into the content folder, after every check
    Import {
        /// The zip (from the application form or an e-mail), the chalet folder, or the id of an
        /// application sent online (fetched with `checkout-fn applications --fetch`)
        source: PathBuf,
        #[arg(long, default_value = "content")]
        content: PathBuf,
        /// Where themes live (default: themes/ next to the content folder)
        #[arg(long)]
        themes: Option<PathBuf>,
        /// The chalet's slug (default: the chalet folder's name, else the zip's)
        #[arg(long)]
        slug: Option<String>,
        /// Replace the chalet of the same slug
        #[arg(long)]
        replace: bool,
        /// Refuse the zip unless it has this SHA-256 (as `checkout-fn applications` lists it)
        #[arg(long)]
        sha256: Option<String>,
    },
    /// Write JSON Schemas of market.yaml, chalet.yaml and product front matter (for editors)
    Schema {
        /// Where to write them
        #[arg(long, default_value = chalet::schema::DEFAULT_DIR)]
        out: PathBuf,
        /// The market whose categories the chalet schema lists (left out when it cannot be read)
        #[arg(long, default_value = "content")]
        content: PathBuf,
    },
    /// Publish the built site to its S3 bucket (assets first, pages next, deletions last)
    Deploy {
        /// The site bucket (the stack's SiteBucket output)
        #[arg(long)]
        bucket: String,
        /// The CloudFront distribution to invalidate (the stack's DistributionId output)
        #[arg(long)]
        distribution: Option<String>,
        /// The built site
        #[arg(long, default_value = "dist")]
        out: PathBuf,
        /// Print what would be uploaded and deleted; change nothing
        #[arg(long)]
        dry_run: bool,
        /// The bucket's listing (`aws s3api list-objects-v2 --output json`) instead of asking AWS
        #[arg(long)]
        remote_listing: Option<PathBuf>,
    },
    /// Build, serve on 127.0.0.1 and rebuild on every change
    Serve {
        #[command(flatten)]
        paths: Paths,
        #[arg(long, default_value = "dist")]
        out: PathBuf,
        #[arg(long, default_value_t = 1225)]
        port: u16,
    },
}

fn main() -> ExitCode {
    chalet_allocator::purge(chalet_allocator::Purge::AtOnce);
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() {
                ExitCode::from(2)
            } else {
                ExitCode::SUCCESS
            };
        }
    };
    match cli.command {
        Command::Build { paths, out } => {
            let opts = options(paths, out);
            let bar = progress_bar();
            let result = chalet::build(&opts, &|stage| bar.set_message(stage.to_string()));
            bar.finish_and_clear();
            finish(&result, &format!("→ {}", opts.out.display()))
        }
        Command::Check { paths } => {
            let opts = options(paths, PathBuf::from("dist"));
            finish(&chalet::check(&opts), "checked, nothing written")
        }
        Command::New { slug, content } => match chalet::scaffold::new_chalet(&content, &slug) {
            Ok(dir) => {
                println!(
                    "Created {}: edit chalet.yaml, about.md and products/, then run `chalet check`.",
                    dir.display()
                );
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("error: {e}");
                ExitCode::from(2)
            }
        },
        Command::Import {
            source,
            content,
            themes,
            slug,
            replace,
            sha256,
        } => import(chalet::import::ImportOptions {
            themes,
            slug,
            replace,
            sha256,
            ..chalet::import::ImportOptions::new(source, content)
        }),
        Command::Schema { out, content } => {
            let files = chalet::load::load(&content, &content.display().to_string());
            let market = files.as_ref().ok().and_then(chalet::validate::market_only);
            if market.is_none() {
                eprintln!(
                    "note: {} has no readable market.yaml: the chalet schema accepts any category",
                    content.display()
                );
            }
            match chalet::schema::write(&out, market.as_ref()) {
                Ok(paths) => {
                    for p in paths {
                        println!("wrote {}", p.display());
                    }
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("error: {e}");
                    ExitCode::from(2)
                }
            }
        }
        Command::Deploy {
            bucket,
            distribution,
            out,
            dry_run,
            remote_listing,
        } => {
            let opts = DeployOptions {
                bucket,
                distribution,
                out,
                dry_run,
                remote_listing,
            };
            match deploy(&opts, &mut |text| print!("{text}")) {
                Ok(_) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("error: {}", chain(&e));
                    ExitCode::from(2)
                }
            }
        }
        Command::Serve { paths, out, port } => {
            let opts = options(paths, out);
            let printer = |r: &Result<BuildReport, BuildError>| {
                let _ = print_result(r, "rebuilt");
            };
            match chalet::serve::serve(opts, port, &printer) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("error: {e}");
                    ExitCode::from(2)
                }
            }
        }
    }
}

/// An error with its causes: `a: b: c`.
fn chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(&format!(": {s}"));
        source = s.source();
    }
    text
}

fn options(paths: Paths, out: PathBuf) -> BuildOptions {
    BuildOptions {
        content: paths.content,
        out,
        themes: paths.themes,
        cache: paths.cache,
        checkout_url: paths.checkout_url,
        base_url: paths.base_url,
    }
}

/// `--checkout-url`: an absolute http(s) URL, or a path on the site's host (`/api`): the pages
/// call it from the browser.
fn checkout_url(text: &str) -> Result<String, String> {
    let absolute = ["http://", "https://"]
        .iter()
        .any(|s| text.strip_prefix(s).is_some_and(|rest| !rest.is_empty()));
    let same_host = text.starts_with('/') && !text.starts_with("//") && !text.contains('\\');
    if absolute || same_host {
        Ok(text.to_string())
    } else {
        Err("expected /api or an absolute URL such as http://127.0.0.1:9000".into())
    }
}

fn base_url(text: &str) -> Result<chalet_types::SiteUrl, String> {
    chalet_types::SiteUrl::parse(text).map_err(|e| format!("not a usable site address: {e}"))
}

fn progress_bar() -> indicatif::ProgressBar {
    if !std::io::stderr().is_terminal() {
        return indicatif::ProgressBar::hidden();
    }
    let bar = indicatif::ProgressBar::new_spinner();
    bar.enable_steady_tick(std::time::Duration::from_millis(100));
    bar
}

fn import(opts: chalet::import::ImportOptions) -> ExitCode {
    use chalet::import::{ImportError, application};
    let by_id = !opts.source.exists() && opts.source.to_str().is_some_and(application::is_id);
    let result = if by_id {
        application::import(&opts)
    } else {
        chalet::import::import(&opts)
    };
    match result {
        Ok(done) => {
            if !done.warnings.is_empty() {
                let _ = write_report(&done.warnings, &mut std::io::stderr().lock());
            }
            for change in &done.changes {
                println!("  {change}");
            }
            let how = if done.replaced { "replaced" } else { "imported" };
            println!(
                "{how} chalet `{}`: {} files in {}; next: `chalet build`",
                done.slug,
                done.files,
                done.dir.display()
            );
            ExitCode::SUCCESS
        }
        Err(ImportError::Refused(diags)) => {
            let _ = write_report(&diags, &mut std::io::stderr().lock());
            eprintln!("Nothing was imported: the content folder is unchanged.");
            ExitCode::from(1)
        }
        Err(e @ ImportError::ContentBroken(_)) => {
            if let ImportError::ContentBroken(diags) = &e {
                let _ = write_report(diags, &mut std::io::stderr().lock());
            }
            eprintln!("error: {e}");
            ExitCode::from(1)
        }
        Err(e @ (ImportError::Exists(_) | ImportError::Fetch(_))) => {
            eprintln!("error: {e}");
            ExitCode::from(1)
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
    }
}

fn finish(result: &Result<BuildReport, BuildError>, what: &str) -> ExitCode {
    ExitCode::from(print_result(result, what))
}

/// Prints diagnostics and the one-line summary; returns the exit code.
fn print_result(result: &Result<BuildReport, BuildError>, what: &str) -> u8 {
    match result {
        Ok(r) => {
            if !r.warnings.is_empty() {
                let _ = r.warnings.write_report(&mut std::io::stderr().lock());
            }
            for (stage, t) in &r.timings {
                if std::env::var_os("CHALET_TIMINGS").is_some() {
                    eprintln!("  {stage:<9} {:>8.1} ms", t.as_secs_f64() * 1000.0);
                }
            }
            // A first build into an empty folder renders everything, of course; any other full
            // render is worth a word (another version, other options, a damaged state).
            if let Some(why) = r
                .full_render
                .as_deref()
                .filter(|w| *w != chalet::render::memo::FIRST_BUILD)
            {
                eprintln!("note: every page was rendered: {why}");
            }
            println!("{} {what}", r.summary());
            0
        }
        Err(BuildError::Content(diags)) => {
            let _ = write_report(diags, &mut std::io::stderr().lock());
            eprintln!("Nothing was written: fix the problems above and build again.");
            1
        }
        Err(BuildError::Io(e)) => {
            eprintln!("error: {e}");
            2
        }
    }
}
