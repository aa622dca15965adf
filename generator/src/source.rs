//! A text file held in memory with what is needed to turn byte offsets into line and column;
//! or, for a chalet taken from the validation cache, read back from there only when shown.

use std::cell::RefCell;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

/// A content file's text and its display path.
#[derive(Clone)]
pub struct SourceFile {
    /// Path relative to the content folder, with `/` separators (`chalets/x/chalet.yaml`).
    pub rel: String,
    /// What diagnostics print before `rel` (`content/`), one string shared by every file that
    /// has it: 20,000 products' copies of the same folder name were a tenth of a rebuild's memory.
    shown: Shown,
    text: Text,
    line_starts: OnceLock<Vec<usize>>,
}

/// How a file's path is shown: under a prefix (the content folder as given), or whole when its
/// path does not end with `rel`.
#[derive(Clone)]
enum Shown {
    Under(Arc<str>),
    As(Box<str>),
}

impl Shown {
    /// `display` split into its prefix before `rel`, the prefix shared with the file before on
    /// this thread when it is the same (files come folder by folder).
    fn of(rel: &str, display: &str) -> Shown {
        thread_local! {
            static LAST: RefCell<Option<Arc<str>>> = const { RefCell::new(None) };
        }
        let Some(prefix) = display.strip_suffix(rel) else {
            return Shown::As(display.into());
        };
        LAST.with(|last| {
            let mut last = last.borrow_mut();
            let shared = match last.as_ref() {
                Some(p) if **p == *prefix => p.clone(),
                _ => Arc::from(prefix),
            };
            *last = Some(shared.clone());
            Shown::Under(shared)
        })
    }
}

/// A file's text: read from the content folder, or kept in the validation cache and read from
/// there only when a page shows it (see [`KeptTexts`]).
#[derive(Clone)]
enum Text {
    Own(String),
    Kept {
        store: Arc<KeptTexts>,
        offset: usize,
        len: usize,
        hash: u128,
    },
}

impl SourceFile {
    pub fn new(rel: impl Into<String>, display: impl AsRef<str>, text: String) -> SourceFile {
        let rel = rel.into();
        SourceFile {
            shown: Shown::of(&rel, display.as_ref()),
            rel,
            text: Text::Own(text),
            line_starts: OnceLock::new(),
        }
    }

    /// What diagnostics print (`content/chalets/x/chalet.yaml`).
    pub fn display(&self) -> String {
        match &self.shown {
            Shown::Under(prefix) => format!("{prefix}{}", self.rel),
            Shown::As(whole) => whole.to_string(),
        }
    }

    /// The file's text; empty for a kept text that could not be read back (which
    /// [`SourceFile::readable`] reports before anything is rendered from it).
    pub fn text(&self) -> &str {
        match &self.text {
            Text::Own(t) => t,
            Text::Kept { store, offset, len, .. } => {
                store.texts().and_then(|t| t.get(*offset..offset + len)).unwrap_or("")
            }
        }
    }

    /// `Err(why)` when the text was kept in the validation cache and cannot be read back as it
    /// was validated (the cache was replaced by another build meanwhile).
    pub fn readable(&self) -> Result<(), String> {
        match &self.text {
            Text::Own(_) => Ok(()),
            Text::Kept { store, .. } => store.texts().map(|_| ()).ok_or_else(|| {
                format!(
                    "changed while this build ran (its validated copy in {} is gone)",
                    store.path.display()
                )
            }),
        }
    }

    #[cfg(test)]
    fn is_kept_unread(&self) -> bool {
        matches!(&self.text, Text::Kept { store, .. } if store.loaded.get().is_none())
    }

    fn hash(&self) -> u128 {
        match &self.text {
            Text::Own(t) => xxhash_rust::xxh3::xxh3_128(t.as_bytes()),
            Text::Kept { hash, .. } => *hash,
        }
    }

    fn len(&self) -> usize {
        match &self.text {
            Text::Own(t) => t.len(),
            Text::Kept { len, .. } => *len,
        }
    }

    /// 1-based line and column (in characters) of a byte offset. Offsets past the end clamp.
    pub fn position(&self, offset: usize) -> (usize, usize) {
        let text = self.text();
        let line_starts = self.line_starts.get_or_init(|| {
            let mut starts = vec![0];
            starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
            starts
        });
        let offset = offset.min(text.len());
        let line = line_starts.partition_point(|&s| s <= offset) - 1;
        let start = line_starts[line];
        let col = text.get(start..offset).map_or(1, |s| s.chars().count() + 1);
        (line + 1, col)
    }
}

/// The text by its length and hash: the model's `Debug` feeds the incremental build's
/// fingerprints, where escaping every text and listing every line start cost more than the
/// rest of the model together, and a hash changes with the text as surely. A kept text shows
/// the hash it was kept with, so it reads the same without being read back.
impl std::fmt::Debug for SourceFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SourceFile")
            .field("rel", &self.rel)
            .field("display", &self.display())
            .field("len", &self.len())
            .field("text_xxh3", &format_args!("{:032x}", self.hash()))
            .finish()
    }
}

/// The texts of one validation-cache entry ([`encode_keeping_texts`]): the entry's file
/// begins with them, its model only points into them. A rebuild reads one chalet's texts only
/// when one of its pages is rendered; the texts of every chalet held at once were most of a
/// rebuild's memory.
#[derive(Debug)]
pub struct KeptTexts {
    path: PathBuf,
    len: usize,
    hash: u128,
    loaded: OnceLock<Option<String>>,
}

impl KeptTexts {
    /// All texts of the entry, read once; `None` when the file no longer holds them as they
    /// were kept (replaced by another build since this one read the entry).
    fn texts(&self) -> Option<&str> {
        self.loaded
            .get_or_init(|| {
                use std::io::Read;
                let mut bytes = vec![0; self.len];
                std::fs::File::open(&self.path).ok()?.read_exact(&mut bytes).ok()?;
                (xxhash_rust::xxh3::xxh3_128(&bytes) == self.hash)
                    .then(|| String::from_utf8(bytes).ok())
                    .flatten()
            })
            .as_deref()
    }
}

thread_local! {
    /// While [`encode_keeping_texts`] runs: the texts met so far.
    static WRITING: RefCell<Option<String>> = const { RefCell::new(None) };
    /// While a kept value is decoded: where its texts are.
    static READING: RefCell<Option<Arc<KeptTexts>>> = const { RefCell::new(None) };
}

/// Length of the end of an encoded entry: the lengths of its texts and its two parts, and their
/// hashes.
const TAIL: usize = 3 * 8 + 3 * 16;

/// A part of a validation-cache entry ([`encode_keeping_texts`]), left in its file until asked
/// for: a rebuild takes back a thousand chalets by their heads, and reads a chalet's products,
/// or its card, only when one of its pages or lists is made.
#[derive(Clone, Debug)]
pub struct KeptBody {
    texts: Arc<KeptTexts>,
    /// Where it begins in the file.
    offset: usize,
    len: usize,
    hash: u128,
}

impl KeptBody {
    /// The part as it was kept; `Err(why)` when its file no longer holds it (replaced by
    /// another build since this one read the head).
    pub fn decode<T: serde::de::DeserializeOwned>(&self) -> Result<T, String> {
        use std::io::{Read, Seek, SeekFrom};
        let gone = || {
            format!(
                "changed while this build ran (its validated copy in {} is gone)",
                self.texts.path.display()
            )
        };
        let mut bytes = vec![0; self.len];
        let mut file = std::fs::File::open(&self.texts.path).map_err(|_| gone())?;
        file.seek(SeekFrom::Start(self.offset as u64)).map_err(|_| gone())?;
        file.read_exact(&mut bytes).map_err(|_| gone())?;
        if xxhash_rust::xxh3::xxh3_128(&bytes) != self.hash {
            return Err(gone());
        }
        decode_with(&self.texts, &bytes).ok_or_else(gone)
    }
}

/// `head` and two parts as the validation cache keeps them: the texts of their source files one
/// after the other, then each part's JSON and the head's (each text as its offset, length and
/// hash), then the lengths and hashes of the texts and the parts. Texts first, so a file written
/// again with the same texts keeps them at the same place; the head last, so reading it takes
/// one read of the file's end.
pub fn encode_keeping_texts<B: serde::Serialize, C: serde::Serialize, H: serde::Serialize>(
    body: &B,
    card: &C,
    head: &H,
) -> serde_json::Result<Vec<u8>> {
    WRITING.with(|w| *w.borrow_mut() = Some(String::new()));
    let json = (|| {
        Ok([
            serde_json::to_vec(body)?,
            serde_json::to_vec(card)?,
            serde_json::to_vec(head)?,
        ])
    })();
    let texts = WRITING.with(|w| w.borrow_mut().take()).unwrap_or_default();
    let [body, card, head] = json?;
    let mut out = Vec::with_capacity(texts.len() + body.len() + card.len() + head.len() + TAIL);
    for part in [texts.as_bytes(), &body, &card, &head] {
        out.extend_from_slice(part);
    }
    for part in [texts.as_bytes(), &body, &card] {
        out.extend_from_slice(&(part.len() as u64).to_le_bytes());
    }
    for part in [texts.as_bytes(), &body, &card] {
        out.extend_from_slice(&xxhash_rust::xxh3::xxh3_128(part).to_le_bytes());
    }
    Ok(out)
}

/// Reads back the head [`encode_keeping_texts`] wrote to `path`, with where its two parts are:
/// neither part nor any text is read (source files read theirs from `path` when first asked).
/// `None` for anything unreadable or foreign.
pub fn decode_keeping_texts<H: serde::de::DeserializeOwned>(path: &Path) -> Option<(H, [KeptBody; 2])> {
    let (json, tail) = read_head(path)?;
    let texts = Arc::new(KeptTexts {
        path: path.to_path_buf(),
        len: tail.lens[0],
        hash: tail.hashes[0],
        loaded: OnceLock::new(),
    });
    let head = decode_with(&texts, &json)?;
    let part = |i: usize| KeptBody {
        texts: texts.clone(),
        offset: tail.lens[..i].iter().sum(),
        len: tail.lens[i],
        hash: tail.hashes[i],
    };
    Some((head, [part(1), part(2)]))
}

/// A part of the head [`encode_keeping_texts`] wrote to `path` that holds no source file (any
/// field of `H` may be left out); `None` for anything unreadable or foreign.
pub fn decode_head<H: serde::de::DeserializeOwned>(path: &Path) -> Option<H> {
    let (json, _) = read_head(path)?;
    serde_json::from_slice(&json).ok()
}

/// An entry's tail: the lengths of its texts and its parts, and their hashes.
struct Tail {
    lens: [usize; 3],
    hashes: [u128; 3],
}

/// The head's JSON at the end of the entry at `path`, and its tail.
fn read_head(path: &Path) -> Option<(Vec<u8>, Tail)> {
    use std::io::{Read, Seek, SeekFrom};
    let mut file = std::fs::File::open(path).ok()?;
    let size = usize::try_from(file.metadata().ok()?.len()).ok()?;
    // A chalet's head is ~3 KB (20 products, 5 warnings; the largest of 1,000 was 9.4 KB): one
    // read of 4 KB takes most with the tail, the rest take a second. (16 KB read five times
    // what was used, a thousand times a rebuild.)
    let guess = size.min(4 * 1024);
    let mut end = vec![0; guess];
    file.seek(SeekFrom::Start((size - guess) as u64)).ok()?;
    file.read_exact(&mut end).ok()?;
    let tail = end.get(guess.checked_sub(TAIL)?..)?;
    let number = |i: usize| usize::try_from(u64::from_le_bytes(tail[i * 8..i * 8 + 8].try_into().ok()?)).ok();
    let hash = |i: usize| Some(u128::from_le_bytes(tail[24 + i * 16..40 + i * 16].try_into().ok()?));
    let tail = Tail {
        lens: [number(0)?, number(1)?, number(2)?],
        hashes: [hash(0)?, hash(1)?, hash(2)?],
    };
    let before: usize = tail.lens.iter().try_fold(0usize, |a, &l| a.checked_add(l))?;
    let head_len = size.checked_sub(TAIL)?.checked_sub(before)?;
    let json = if head_len + TAIL <= guess {
        end.truncate(guess - TAIL);
        end.drain(..guess - TAIL - head_len);
        end
    } else {
        let mut bytes = vec![0; head_len];
        file.seek(SeekFrom::Start(before as u64)).ok()?;
        file.read_exact(&mut bytes).ok()?;
        bytes
    };
    Some((json, tail))
}

/// `json` decoded, its source files' texts in `texts`.
fn decode_with<T: serde::de::DeserializeOwned>(texts: &Arc<KeptTexts>, json: &[u8]) -> Option<T> {
    READING.with(|r| *r.borrow_mut() = Some(texts.clone()));
    // Checked as UTF-8 once, whole: read from bytes, each of its thousands of strings was checked
    // on its own.
    let value = std::str::from_utf8(json)
        .ok()
        .and_then(|j| serde_json::from_str(j).ok());
    READING.with(|r| r.borrow_mut().take());
    value
}

/// Only inside a validation-cache entry: as its path, display path and where its text is.
impl serde::Serialize for SourceFile {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.readable().map_err(serde::ser::Error::custom)?;
        let text = self.text();
        let offset = WRITING.with(|w| {
            w.borrow_mut().as_mut().map(|texts| {
                texts.push_str(text);
                texts.len() - text.len()
            })
        });
        let Some(offset) = offset else {
            return Err(serde::ser::Error::custom(
                "source files are kept only by encode_keeping_texts",
            ));
        };
        (&self.rel, &self.display(), offset, text.len(), self.hash()).serialize(s)
    }
}

impl<'de> serde::Deserialize<'de> for SourceFile {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<SourceFile, D::Error> {
        let (rel, display, offset, len, hash) = <(String, String, usize, usize, u128)>::deserialize(d)?;
        let Some(store) = READING.with(|r| r.borrow().clone()) else {
            return Err(serde::de::Error::custom(
                "source files are read only by decode_keeping_texts",
            ));
        };
        if offset.checked_add(len).is_none_or(|end| end > store.len) {
            return Err(serde::de::Error::custom("a kept text lies outside its entry"));
        }
        Ok(SourceFile {
            shown: Shown::of(&rel, &display),
            rel,
            text: Text::Kept {
                store,
                offset,
                len,
                hash,
            },
            line_starts: OnceLock::new(),
        })
    }
}

/// `#[serde(with)]` for an `Arc<T>`, kept as the `T` it points to (serde's `rc` feature would
/// be needed otherwise).
pub mod shared {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};
    use std::sync::Arc;

    pub fn serialize<S: Serializer, T: Serialize>(value: &Arc<T>, s: S) -> Result<S::Ok, S::Error> {
        value.as_ref().serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Arc<T>, D::Error> {
        T::deserialize(d).map(Arc::new)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_count_characters_and_lines() {
        let f = SourceFile::new("a", "a", "ab\nçé x\n".to_string());
        assert_eq!(f.position(0), (1, 1));
        assert_eq!(f.position(3), (2, 1));
        // "çé " is 5 bytes, 3 characters: the x is column 4.
        assert_eq!(f.position(8), (2, 4));
        assert_eq!(f.position(999), (3, 1));
    }

    #[test]
    fn a_display_path_is_kept_as_a_shared_prefix_and_shown_whole() {
        let a = SourceFile::new("chalets/x/a.md", "content/chalets/x/a.md", String::new());
        let b = SourceFile::new("chalets/y/b.md", "content/chalets/y/b.md", String::new());
        let odd = SourceFile::new("fr.yaml", "themes/t/i18n/other.yaml", String::new());
        let bare = SourceFile::new("market.yaml", "market.yaml", String::new());
        assert_eq!(a.display(), "content/chalets/x/a.md");
        assert_eq!(b.display(), "content/chalets/y/b.md");
        assert_eq!(odd.display(), "themes/t/i18n/other.yaml");
        assert_eq!(bare.display(), "market.yaml");
        match (&a.shown, &b.shown) {
            (Shown::Under(p), Shown::Under(q)) => assert!(Arc::ptr_eq(p, q), "one prefix for both"),
            _ => panic!("both are under `content/`"),
        }
    }

    /// An entry's body, as a test keeps it: files only.
    fn files(texts: &[&str]) -> Vec<SourceFile> {
        texts
            .iter()
            .enumerate()
            .map(|(i, t)| SourceFile::new(format!("f{i}.md"), format!("content/f{i}.md"), t.to_string()))
            .collect()
    }

    /// An entry whose second part (a chalet's card) is a string naming its stamp.
    fn write(path: &Path, stamp: u64, texts: &[&str]) {
        let card = format!("card {stamp}");
        std::fs::write(
            path,
            encode_keeping_texts(&files(texts), &card, &stamp).expect("encode"),
        )
        .expect("write");
    }

    fn read(path: &Path) -> (u64, KeptBody) {
        let (stamp, [body, card]) = decode_keeping_texts(path).expect("decode");
        assert_eq!(
            card.decode::<String>(),
            Ok(format!("card {stamp}")),
            "each part read alone"
        );
        (stamp, body)
    }

    #[test]
    fn kept_texts_are_read_back_only_when_asked_and_only_as_they_were_kept() {
        let dir = tempfile::tempdir().expect("tmp");
        let path = dir.path().join("x.entry");
        let original = files(&["ab\nçé x\n", "", "second"]);
        write(&path, 1, &["ab\nçé x\n", "", "second"]);
        let (stamp, body) = read(&path);
        assert_eq!(stamp, 1);
        let back: Vec<SourceFile> = body.decode().expect("the body as kept");
        // Nothing read yet: the model alone describes each text as the original does.
        for (a, b) in original.iter().zip(&back) {
            assert_eq!(format!("{a:?}"), format!("{b:?}"));
        }
        assert!(back.iter().all(|f| f.is_kept_unread()));
        assert_eq!(back[0].text(), "ab\nçé x\n");
        assert_eq!(back[0].position(8), (2, 4));
        assert_eq!(back[1].text(), "");
        assert_eq!(back[2].text(), "second");
        assert!(back[2].readable().is_ok());

        // Written again with the same texts (another build's stamp): the same body and texts.
        let (_, again) = read(&path);
        let again_files: Vec<SourceFile> = again.decode().expect("body");
        write(&path, 22_222, &["ab\nçé x\n", "", "second"]);
        assert_eq!(again_files[2].text(), "second");
        assert!(again.decode::<Vec<SourceFile>>().is_ok());
        // Replaced by other texts before they were read: refused, never mixed up.
        let (_, stale_body) = read(&path);
        let stale: Vec<SourceFile> = stale_body.decode().expect("body");
        write(&path, 3, &["AB\nÇÉ X\n", "", "SECOND"]);
        assert!(stale[0].readable().is_err());
        assert_eq!(stale[2].text(), "");
        // …and so is a body not yet read whose file now holds another.
        let err = stale_body.decode::<Vec<SourceFile>>().expect_err("another body");
        assert!(err.contains("changed while this build ran"), "{err}");
        let (_, [_, stale_card]) = decode_keeping_texts::<u64>(&path).expect("decode");
        write(&path, 4, &["AB\nÇÉ X\n", "", "SECOND"]);
        let err = stale_card.decode::<String>().expect_err("another card");
        assert!(err.contains("changed while this build ran"), "{err}");
        // A head longer than the first read of the file's end (4 KB) is read whole.
        let many: Vec<String> = (0..400).map(|i| format!("text {i}")).collect();
        let big = files(&many.iter().map(String::as_str).collect::<Vec<_>>());
        std::fs::write(&path, encode_keeping_texts(&0u8, &1u8, &big).expect("encode")).expect("write");
        assert!(std::fs::metadata(&path).expect("meta").len() > 20 * 1024);
        let (back, [_, card]): (Vec<SourceFile>, _) = decode_keeping_texts(&path).expect("decode");
        assert_eq!(card.decode::<u8>(), Ok(1));
        assert_eq!(back.len(), 400);
        assert_eq!(back[399].text(), "text 399");
        // Damaged or foreign files are not entries.
        std::fs::write(&path, b"{}").expect("write");
        assert!(decode_keeping_texts::<u64>(&path).is_none());
        // A source file is kept only with its texts.
        assert!(serde_json::to_string(&original).is_err());
    }
}
