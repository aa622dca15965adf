//! `chalet`: turns a content folder (market.yaml + chalet folders) and a theme into a static
//! market site. The build is a pipeline of stages with explicit inputs, so each can be tested
//! alone and, later, re-run only for what changed:
//!
//! 1. [`load`] — read the content folder (texts whole, other files listed);
//! 2. [`validate`] — typed [`model::Site`] and every [`diagnostic::Diagnostic`] at once;
//! 3. [`images`] — plan every referenced image (URL, size) and read it;
//! 4. [`render`] — pages, `catalogue.json`, sitemap: files in memory, nothing written;
//! 5. [`write`] — the only stage that touches the output folder, building aside and swapping.
//!
//! [`routes`] owns every page's address and output file (through `chalet_types::routes`), and
//! refuses two sources claiming one file; [`i18n`] the generator's language rules; [`mime`] what
//! each published file is and how long it may be cached.
//!
//! [`build`] strings the stages together (and publishes the application form's [`apply`] kit); [`serve`] rebuilds on change; [`scaffold`] writes a new
//! chalet folder; [`import`] takes one in from an artisan's zip; [`deploy`] plans publishing to S3. The binary in `main.rs` only parses
//! arguments and prints.

pub mod apply;
#[cfg(feature = "native")]
pub mod build;
pub mod catalogue;
pub mod deploy;
pub mod diagnostic;
pub mod fingerprint;
pub mod frontmatter;
pub mod fs;
pub mod i18n;
pub mod images;
#[cfg(feature = "native")]
pub mod import;
pub mod in_memory;
pub mod load;
pub mod markdown;
pub mod mime;
pub mod model;
#[cfg(feature = "native")]
pub mod output_folder;
pub mod render;
pub mod routes;
pub mod scaffold;
pub mod schema;
#[cfg(feature = "native")]
pub mod serve;
pub mod source;
pub mod theme;
#[cfg(feature = "native")]
pub mod up_to_date;
pub mod validate;
pub mod write;
pub mod yaml;

#[cfg(feature = "native")]
pub use build::{BuildError, BuildOptions, BuildReport, Session, build, build_in, check};
pub use diagnostic::{Diagnostic, Diagnostics, Severity};
