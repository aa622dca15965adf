//! What one build keeps for the next in one process: `serve`'s session.

use super::BuildOptions;
use crate::diagnostic::Diagnostics;
use crate::load::ContentFiles;
use crate::model::Site;
use crate::{theme, validate};
use std::path::PathBuf;
use std::sync::Arc;

/// What one build keeps for the next when they run in one process (`serve`); a build
/// without one starts from what the last build left in the cache folder.
#[derive(Debug)]
pub struct Session {
    pub(super) chalets: validate::reuse::ChaletMemo,
    /// `serve`: the last build's listing of the content folder, and the paths the watcher
    /// reported since (`None`: unknown, so the next build lists everything).
    pub(super) listing: Option<ContentFiles>,
    pub(super) changes: Option<Vec<PathBuf>>,
    pub(super) watched: bool,
    /// `serve`: the last build's incremental state, being written while the tabs reload.
    pub(super) saving: Option<std::thread::JoinHandle<()>>,
    /// The theme the last build loaded, with what it was loaded from.
    theme: Option<theme::Kept>,
}

impl Session {
    /// The market's theme: the one this session loaded last while nothing it was loaded from
    /// changed ([`theme::Kept`]), else loaded from disk.
    pub(super) fn theme(
        &mut self,
        opts: &BuildOptions,
        site: &Site,
    ) -> Result<(Arc<theme::Theme>, Diagnostics), Diagnostics> {
        let m = &site.market;
        theme::Kept::load(
            &mut self.theme,
            &opts.themes_dir(),
            &m.theme,
            &m.theme_origin,
            &opts.content.join("templates"),
            m.language,
        )
    }
}

impl Session {
    pub fn new(opts: &BuildOptions) -> Session {
        Session {
            chalets: validate::reuse::ChaletMemo::new(&opts.cache_dir(), &opts.content),
            listing: None,
            changes: None,
            watched: false,
            saving: None,
            theme: None,
        }
    }

    /// For `serve`: the listing is kept between builds and brought up to date from what the
    /// watcher reports ([`Session::changed`]) instead of listing every file again.
    pub fn watched(opts: &BuildOptions) -> Session {
        Session {
            watched: true,
            ..Session::new(opts)
        }
    }

    /// Files or folders the watcher saw change (absolute paths).
    pub fn changed(&mut self, paths: impl IntoIterator<Item = PathBuf>) {
        if let Some(c) = &mut self.changes {
            c.extend(paths);
        }
    }

    /// The watcher lost events (its queue overflowed): the next build lists everything.
    pub fn lost_track(&mut self) {
        self.changes = None;
    }
}
