//! The bytes across the WebAssembly boundary, without a bindings generator: the page asks for a
//! buffer (`chalet_alloc`), writes its UTF-8 request there, calls `chalet_call`, reads the answer
//! it points to (a 4-byte little-endian length, then UTF-8) and gives it back (`chalet_free`).
//! These three functions are the only `unsafe` in the workspace: raw pointers are how
//! WebAssembly exports talk.
#![allow(unsafe_code)]

/// A buffer of `len` bytes for the request; `chalet_call` takes it back.
#[unsafe(no_mangle)]
pub extern "C" fn chalet_alloc(len: usize) -> *mut u8 {
    let mut buffer = std::mem::ManuallyDrop::new(Vec::<u8>::with_capacity(len));
    buffer.as_mut_ptr()
}

/// Answers the request of `len` bytes at `request` (from `chalet_alloc`, which it frees).
///
/// # Safety
/// `request` must come from `chalet_alloc(len)`, written with `len` bytes, used once.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn chalet_call(request: *mut u8, len: usize) -> *mut u8 {
    // SAFETY: allocated by `chalet_alloc` with capacity `len` and filled by the caller.
    let bytes = unsafe { Vec::from_raw_parts(request, len, len) };
    let answer = crate::call(&String::from_utf8_lossy(&bytes));
    let mut out = Vec::with_capacity(answer.len() + 4);
    out.extend_from_slice(&(answer.len() as u32).to_le_bytes());
    out.extend_from_slice(answer.as_bytes());
    Box::into_raw(out.into_boxed_slice()).cast::<u8>()
}

/// Frees an answer of `len` bytes (its length prefix included).
///
/// # Safety
/// `answer` must come from `chalet_call`, with the length it announced plus 4, freed once.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn chalet_free(answer: *mut u8, len: usize) {
    // SAFETY: a boxed slice of exactly `len` bytes made by `chalet_call`.
    drop(unsafe { Box::from_raw(std::ptr::slice_from_raw_parts_mut(answer, len)) });
}
