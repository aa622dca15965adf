//! A file made of pieces of the one the output holds and of new text: how a market-wide list
//! (`catalogue.json` is 20 MB at 20,000 products) is made again after one chalet changed,
//! without holding it or reading every chalet's products back. The file it is cut from is
//! checked whole against the hash the last build recorded before a byte of it is used; the
//! pieces are streamed, never gathered.

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

/// How much of the old file is read at a time.
const CHUNK: usize = 64 * 1024;

/// One piece of a spliced file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Piece {
    /// These bytes of the file it is cut from.
    Old {
        at: u64,
        len: u64,
    },
    New(Vec<u8>),
}

/// A file cut from `from` and new text, with its content hash (as [`super`] tracks files).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Splice {
    from: PathBuf,
    pieces: Vec<Piece>,
    hash: u128,
}

impl Splice {
    /// The file `pieces` make, cut from `from` — which must be `len` bytes with the content
    /// hash `hash` (what the last build wrote), or `None`: then it is not what the pieces were
    /// measured on, and the file is made whole instead.
    pub fn new(from: &Path, len: u64, hash: u128, pieces: Vec<Piece>) -> Option<Splice> {
        let mut file = File::open(from).ok()?;
        if file.metadata().ok()?.len() != len || hash_of(&mut file, &[Piece::Old { at: 0, len }]).ok()? != hash {
            return None;
        }
        let spliced = hash_of(&mut file, &pieces).ok()?;
        Some(Splice {
            from: from.to_path_buf(),
            pieces,
            hash: spliced,
        })
    }

    pub fn hash(&self) -> u128 {
        self.hash
    }

    /// Writes the file at `target` (a new file: never `from` itself).
    pub fn write_to(&self, target: &Path) -> io::Result<()> {
        let mut from = File::open(&self.from)?;
        let mut out = io::BufWriter::with_capacity(CHUNK, File::create(target)?);
        each_chunk(&mut from, &self.pieces, |bytes| out.write_all(bytes))?;
        out.flush()
    }
}

/// The content hash of what `pieces` of `file` make.
fn hash_of(file: &mut File, pieces: &[Piece]) -> io::Result<u128> {
    let mut h = xxhash_rust::xxh3::Xxh3::new();
    each_chunk(file, pieces, |bytes| {
        h.update(bytes);
        Ok(())
    })?;
    Ok(h.digest128())
}

/// Calls `f` with the bytes `pieces` make, in order, a chunk at a time.
fn each_chunk(file: &mut File, pieces: &[Piece], mut f: impl FnMut(&[u8]) -> io::Result<()>) -> io::Result<()> {
    let mut buf = vec![0; CHUNK];
    for piece in pieces {
        match piece {
            Piece::New(bytes) => f(bytes)?,
            Piece::Old { at, len } => {
                file.seek(SeekFrom::Start(*at))?;
                let mut left = *len;
                while left > 0 {
                    let n = buf.len().min(usize::try_from(left).unwrap_or(usize::MAX));
                    file.read_exact(&mut buf[..n])?;
                    f(&buf[..n])?;
                    left -= n as u64;
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_splice_is_cut_only_from_the_file_it_was_measured_on() {
        let dir = tempfile::tempdir().expect("tmp");
        let old = dir.path().join("old.json");
        std::fs::write(&old, "[aa,bbbb,cc]").expect("write");
        let hash = xxhash_rust::xxh3::xxh3_128(b"[aa,bbbb,cc]");
        let pieces = vec![
            Piece::Old { at: 0, len: 3 },
            Piece::New(b",dd".to_vec()),
            Piece::Old { at: 8, len: 4 },
        ];
        let splice = Splice::new(&old, 12, hash, pieces.clone()).expect("the file is as measured");
        assert_eq!(splice.hash(), xxhash_rust::xxh3::xxh3_128(b"[aa,dd,cc]"));
        let new = dir.path().join("new.json");
        splice.write_to(&new).expect("write");
        assert_eq!(std::fs::read(&new).expect("read"), b"[aa,dd,cc]");

        // Another length, or the same length with other bytes: not cut from.
        assert!(Splice::new(&old, 13, hash, pieces.clone()).is_none());
        std::fs::write(&old, "[aa,bxbb,cc]").expect("write");
        assert!(Splice::new(&old, 12, hash, pieces.clone()).is_none());
        std::fs::remove_file(&old).expect("remove");
        assert!(Splice::new(&old, 12, hash, pieces).is_none());
    }

    #[test]
    fn pieces_longer_than_a_chunk_are_copied_whole() {
        let dir = tempfile::tempdir().expect("tmp");
        let old = dir.path().join("old");
        let bytes: Vec<u8> = (0..3 * CHUNK + 17).map(|i| (i % 251) as u8).collect();
        std::fs::write(&old, &bytes).expect("write");
        let hash = xxhash_rust::xxh3::xxh3_128(&bytes);
        let len = bytes.len() as u64;
        let pieces = vec![Piece::Old { at: 5, len: len - 5 }, Piece::New(b"end".to_vec())];
        let splice = Splice::new(&old, len, hash, pieces).expect("as measured");
        let new = dir.path().join("new");
        splice.write_to(&new).expect("write");
        let mut expected = bytes[5..].to_vec();
        expected.extend_from_slice(b"end");
        assert_eq!(std::fs::read(&new).expect("read"), expected);
        assert_eq!(splice.hash(), xxhash_rust::xxh3::xxh3_128(&expected));
    }
}
