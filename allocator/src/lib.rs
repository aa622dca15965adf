//! The `chalet` CLI's allocator: mimalloc, told to give freed memory back promptly.
//!
//! mimalloc v3 keeps memory it has freed for a second (`purge_delay`, 1000 ms) before handing it
//! back to the system, in case it is wanted again. A rebuild after one edit lasts a tenth of a
//! second and frees as it goes (the content listing, the cache entries it decodes…), so it
//! handed nothing back and its peak resident memory was everything it had ever touched: 30 MiB
//! for a market of 20,000 products where 10 ms gives 26 and the heap itself peaks at 10 MB
//! (bench-incremental; a clean build of the same market, 113 → 87 MiB, takes as long).

use std::ffi::{c_char, c_int, c_long, c_void};

/// The allocator for `#[global_allocator]`.
pub use mimalloc::MiMalloc;

/// How long freed memory is kept before it is handed back, in milliseconds: 10 ms was mimalloc
/// v2's default; a rebuild's stages each last longer than that.
pub const PURGE_DELAY_MS: c_long = 10;

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

/// Sets the purge delay, unless `MIMALLOC_PURGE_DELAY` is in the environment (mimalloc read it
/// when the process started, and whoever set it meant it). Call first thing in `main`.
pub fn give_back_freed_memory_promptly() {
    if std::env::var_os("MIMALLOC_PURGE_DELAY").is_none() {
        #[allow(unsafe_code)]
        // SAFETY: mimalloc's options may be set at any time, from any thread; the option number
        // is checked by name in the tests.
        unsafe {
            mi_option_set(MI_OPTION_PURGE_DELAY, PURGE_DELAY_MS)
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
        give_back_freed_memory_promptly();
        let after = options();
        let changed: Vec<(&str, &str)> = before.lines().zip(after.lines()).filter(|(b, a)| b != a).collect();
        assert_eq!(
            changed,
            [(
                "option 'purge_delay': 1000 ",
                format!("option 'purge_delay': {PURGE_DELAY_MS} ").as_str()
            )]
        );
    }
}
