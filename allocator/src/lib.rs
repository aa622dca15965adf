//! The `chalet` CLI's allocator: mimalloc, told when to give freed memory back.
//!
//! mimalloc v3 keeps memory it has freed for a second (`purge_delay`, 1000 ms) before handing it
//! back to the system, in case it is wanted again. A rebuild after one edit lasts a tenth of a
//! second and frees as it goes (the content listing, the cache entries it decodes…), so it
//! handed nothing back and its peak resident memory was everything it had ever touched: 30 MiB
//! for a market of 20,000 products whose heap peaks at 8 MB. Handed back at once, 22 MiB; but a
//! build that makes most of the market allocates and frees in bulk, and purging every page at
//! once cost a clean build 5–10 % (bench-incremental). So: at once while a build keeps most of
//! the market ([`Purge::AtOnce`], the CLI's start), after 10 ms once it turns out to make most of
//! it ([`Purge::Soon`]; a clean build of the same market: 113 → 87 MiB, in the same time).

use std::ffi::{c_char, c_int, c_long, c_void};

/// The allocator for `#[global_allocator]`.
pub use mimalloc::MiMalloc;

/// When freed memory is handed back to the system.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Purge {
    /// As soon as a whole page of it is free.
    AtOnce,
    /// 10 ms later (mimalloc v2's default): a build's stages each last longer than that.
    Soon,
}

impl Purge {
    fn delay_ms(self) -> c_long {
        match self {
            Purge::AtOnce => 0,
            Purge::Soon => 10,
        }
    }
}

/// `mi_option_purge_delay`'s place in `mi_option_e` of the mimalloc that `libmimalloc-sys`
/// 0.1.49 vendors (`c_src/mimalloc/v3/include/mimalloc.h`). The Rust crate's own constants are
/// v2's and name other options at these numbers; the test below reads the option back by its
/// name, so an upgrade that moves it fails there rather than setting something else.
const MI_OPTION_PURGE_DELAY: c_int = 15;

type Output = Option<unsafe extern "C" fn(msg: *const c_char, arg: *mut c_void)>;

#[allow(unsafe_code)]
// SAFETY (for the block): these are mimalloc's exported C functions, with the signatures of its
// header; mimalloc is linked through the `mimalloc` crate.
unsafe extern "C" {
    fn mi_option_set(option: c_int, value: c_long);
    fn mi_options_print_out(out: Output, arg: *mut c_void);
}

/// From now on, freed memory is handed back `when`; nothing is changed when
/// `MIMALLOC_PURGE_DELAY` is in the environment (mimalloc read it when the process started, and
/// whoever set it meant it). Harmless where mimalloc is linked but not the global allocator.
pub fn purge(when: Purge) {
    if std::env::var_os("MIMALLOC_PURGE_DELAY").is_none() {
        #[allow(unsafe_code)]
        // SAFETY: mimalloc reads the option each time it purges, and it may be set at any time
        // from any thread; the option number is checked by name in the tests.
        unsafe {
            mi_option_set(MI_OPTION_PURGE_DELAY, when.delay_ms())
        };
    }
}

/// mimalloc's options as it prints them (`option 'name': value`), one a line.
pub fn options() -> String {
    #[allow(unsafe_code)]
    unsafe extern "C" fn collect(msg: *const c_char, arg: *mut c_void) {
        // SAFETY: `arg` is the `String` passed below, alive for the call; mimalloc passes a
        // NUL-terminated message.
        let (text, msg) = unsafe { (&mut *arg.cast::<String>(), std::ffi::CStr::from_ptr(msg)) };
        text.push_str(&msg.to_string_lossy());
    }
    let mut text = String::new();
    #[allow(unsafe_code)]
    // SAFETY: `collect` only appends to `text`, which outlives the call.
    unsafe {
        mi_options_print_out(Some(collect), (&raw mut text).cast())
    };
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_purge_delay_and_nothing_else_is_set() {
        let before = options();
        assert!(
            before.contains("option 'purge_delay': 1000"),
            "mimalloc's default:\n{before}"
        );
        for (when, ms) in [(Purge::AtOnce, 0), (Purge::Soon, 10)] {
            purge(when);
            let after = options();
            let changed: Vec<(&str, &str)> = before.lines().zip(after.lines()).filter(|(b, a)| b != a).collect();
            assert_eq!(
                changed,
                [(
                    "option 'purge_delay': 1000 ",
                    format!("option 'purge_delay': {ms} ").as_str()
                )]
            );
        }
    }
}
