//! Voucher codes: 80 bits from HMAC-SHA256(key, session/SKU/unit). Unguessable without the key,
//! and the same on every delivery of the same webhook, so retries never mint new codes. The key
//! is `VOUCHER_CODES_KEY`, a secret of its own: rotating the webhook secret changes nothing here.

use chalet_types::{Sku, VoucherCode};
use hmac::{Hmac, Mac};
use sha2::Sha256;

pub fn voucher_code(key: &[u8], session_id: &str, sku: &Sku, unit: u32) -> VoucherCode {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes any key");
    mac.update(format!("voucher\n{session_id}\n{sku}\n{unit}").as_bytes());
    let digest = mac.finalize().into_bytes();
    let mut entropy = [0u8; 10];
    entropy.copy_from_slice(&digest[..10]);
    VoucherCode::from_entropy(entropy)
}

/// The HMAC key for codes, derived from the configured `VOUCHER_CODES_KEY` (domain-separated,
/// so the same secret could never produce anything else's MAC).
pub fn codes_key(voucher_codes_key: &str) -> Vec<u8> {
    let mut mac = Hmac::<Sha256>::new_from_slice(voucher_codes_key.as_bytes()).expect("HMAC takes any key");
    mac.update(b"chalet voucher codes v1");
    mac.finalize().into_bytes().to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deterministic_per_unit_and_distinct() {
        let sku = Sku::parse("a/bon").expect("sku");
        let k = codes_key("whsec_test");
        assert_eq!(voucher_code(&k, "cs_1", &sku, 0), voucher_code(&k, "cs_1", &sku, 0));
        assert_ne!(voucher_code(&k, "cs_1", &sku, 0), voucher_code(&k, "cs_1", &sku, 1));
        assert_ne!(voucher_code(&k, "cs_1", &sku, 0), voucher_code(&k, "cs_2", &sku, 0));
        assert_ne!(
            voucher_code(&codes_key("other"), "cs_1", &sku, 0),
            voucher_code(&k, "cs_1", &sku, 0)
        );
    }
}
