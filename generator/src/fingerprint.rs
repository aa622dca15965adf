//! A streaming 128-bit hash (xxh3) of values: what the incremental build compares. The model
//! hashes each chalet with it at validation, the renderer each page's inputs.

use std::io::Write;
use xxhash_rust::xxh3::Xxh3;

/// A streaming 128-bit hash that values are serialised into (no intermediate string).
#[derive(Default)]
pub struct Fingerprint(Xxh3);

impl Fingerprint {
    pub fn add(&mut self, bytes: &[u8]) {
        // Length first: `ab`+`c` and `a`+`bc` must not hash alike.
        self.0.update(&(bytes.len() as u64).to_le_bytes());
        self.0.update(bytes);
    }

    pub fn add_json<T: serde::Serialize + ?Sized>(&mut self, value: &T) {
        let mut w = HashWriter(Xxh3::new());
        // Serialising plain data into a hasher cannot fail.
        let _ = serde_json::to_writer(&mut w, value);
        self.add(&w.0.digest128().to_le_bytes());
    }

    /// A value's `Debug` form, streamed: the typed model derives `Debug` everywhere, so this
    /// covers every field without a second, hand-kept list of them.
    pub fn add_debug<T: std::fmt::Debug + ?Sized>(&mut self, value: &T) {
        let mut w = HashWriter(Xxh3::new());
        let _ = std::fmt::Write::write_fmt(&mut w, format_args!("{value:?}"));
        self.add(&w.0.digest128().to_le_bytes());
    }

    pub fn finish(&self) -> u128 {
        self.0.digest128()
    }
}

impl std::fmt::Debug for Fingerprint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Fingerprint({:032x})", self.finish())
    }
}

impl Clone for Fingerprint {
    fn clone(&self) -> Fingerprint {
        Fingerprint(self.0.clone())
    }
}

struct HashWriter(Xxh3);

impl std::fmt::Write for HashWriter {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        self.0.update(s.as_bytes());
        Ok(())
    }
}

impl Write for HashWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.update(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
