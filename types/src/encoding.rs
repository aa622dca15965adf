//! Lowercase hexadecimal, the one spelling of hashes, MACs and tokens across the workspace:
//! image cache keys and asset names (generator), link tokens, S3 signatures, the SHA-256 an
//! application records (checkout function).

/// Lowercase hex. On the generator's warm path this runs for every derivative of every image,
/// so no `format!`.
pub fn hex(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 2);
    push_hex(&mut out, bytes);
    out
}

/// [`hex`], written at the end of `out` (a derivative's cache key starts its file name).
pub fn push_hex(out: &mut String, bytes: &[u8]) {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    for b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 15)]));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_is_lowercase_and_complete() {
        assert_eq!(hex(&[0x00, 0x0f, 0xa5, 0xff]), "000fa5ff");
    }
}
