//! A voucher's QR code: a payload signed with Ed25519, so a restaurant can tell a genuine
//! voucher from a forged one with the market's public key alone, even offline, before asking
//! the function to redeem it. The payload is
//! `CHV1.<code>.<chalet/product>.<valid until, or ->.<signature>` (base64url, no padding), the
//! signature over everything before its dot; the public key is served at `GET /vouchers/key`
//! (under the site's own `/api`).
//!
//! The signing key is derived from `VOUCHER_CODES_KEY` (domain-separated, as the codes' own
//! key is): no new secret to provision, and rotating that key rotates this one — codes stay
//! redeemable, old QR codes stop verifying and say so.

use base64::Engine;
use chalet_types::{Date, Sku, VoucherCode};
use hmac::{Hmac, Mac};
use ring::signature::{ED25519, Ed25519KeyPair, KeyPair, UnparsedPublicKey};
use sha2::Sha256;

/// The payload's version and format.
pub const PREFIX: &str = "CHV1";
const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// The Ed25519 key pair the function signs vouchers with.
pub fn signing_key(voucher_codes_key: &str) -> Ed25519KeyPair {
    let mut mac = Hmac::<Sha256>::new_from_slice(voucher_codes_key.as_bytes()).expect("HMAC takes any key");
    mac.update(b"chalet voucher signing v1");
    let seed = mac.finalize().into_bytes();
    // 32 bytes of seed always make a key pair.
    Ed25519KeyPair::from_seed_unchecked(&seed).expect("a 32-byte seed")
}

/// The public key, base64url: what the restaurant's page verifies with.
pub fn public_key(key: &Ed25519KeyPair) -> String {
    B64.encode(key.public_key().as_ref())
}

fn message(code: &VoucherCode, sku: &Sku, valid_until: Option<Date>) -> String {
    let until = valid_until.map_or_else(|| "-".to_string(), |d| d.to_string());
    format!("{PREFIX}.{code}.{sku}.{until}", code = code.as_str())
}

/// The signed payload a voucher's QR code carries.
pub fn payload(key: &Ed25519KeyPair, code: &VoucherCode, sku: &Sku, valid_until: Option<Date>) -> String {
    let m = message(code, sku, valid_until);
    let signature = key.sign(m.as_bytes());
    format!("{m}.{}", B64.encode(signature.as_ref()))
}

/// The code a payload vouches for, if `public_key` (raw, 32 bytes) signed it as it is.
pub fn verify(public_key: &[u8], payload: &str) -> Option<VoucherCode> {
    let (message, signature) = payload.rsplit_once('.')?;
    let mut parts = message.split('.');
    if parts.next()? != PREFIX {
        return None;
    }
    let code = VoucherCode::parse(parts.next()?)?;
    let signature = B64.decode(signature).ok()?;
    UnparsedPublicKey::new(&ED25519, public_key)
        .verify(message.as_bytes(), &signature)
        .ok()?;
    Some(code)
}

/// The QR code of `payload`: its side in modules and one SVG path drawing every dark module
/// (a 4-module quiet zone included in the side), for a `viewBox="0 0 side side"`.
pub fn qr_path(payload: &str) -> Option<(i32, String)> {
    let qr = qrcodegen::QrCode::encode_text(payload, qrcodegen::QrCodeEcc::Medium).ok()?;
    let border = 4;
    let mut d = String::new();
    for y in 0..qr.size() {
        for x in 0..qr.size() {
            if qr.get_module(x, y) {
                d.push_str(&format!("M{},{}h1v1h-1z", x + border, y + border));
            }
        }
    }
    Some((qr.size() + 2 * border, d))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> (VoucherCode, Sku) {
        (
            VoucherCode::from_entropy([3; 10]),
            Sku::parse("la-table-du-carre/menu-boulets-pour-deux").expect("sku"),
        )
    }

    #[test]
    fn a_genuine_payload_verifies_and_a_forged_one_does_not() {
        let key = signing_key("vck_test_0123456789abcdef0123456789abcdef");
        let public = B64.decode(public_key(&key)).expect("base64url");
        let (code, sku) = sample();
        let p = payload(&key, &code, &sku, Date::parse("2027-12-31"));
        assert!(
            p.starts_with(&format!("CHV1.{}.{sku}.2027-12-31.", code.as_str())),
            "{p}"
        );
        assert_eq!(verify(&public, &p), Some(code.clone()));
        // Any change — the validity stretched, another code, another product — breaks it.
        for forged in [
            p.replace("2027-12-31", "2030-12-31"),
            p.replace(code.as_str(), VoucherCode::from_entropy([4; 10]).as_str()),
            p.replace("menu-boulets-pour-deux", "bon-cadeau-50-euros"),
            p.replace("CHV1", "CHV2"),
            format!("{p}x"),
            "CHV1.nothing".into(),
        ] {
            assert_eq!(verify(&public, &forged), None, "{forged}");
        }
        // Signed by another key (another market, or a rotated one): not ours.
        let other = payload(&signing_key("another-key-another-market-0123456789"), &code, &sku, None);
        assert_eq!(verify(&public, &other), None);
        // The same key from the same secret, every time (cold starts sign alike).
        assert_eq!(
            public_key(&signing_key("vck_test_0123456789abcdef0123456789abcdef")),
            public_key(&key)
        );
    }

    #[test]
    fn the_qr_code_draws_the_payload() {
        let key = signing_key("vck_test_0123456789abcdef0123456789abcdef");
        let (code, sku) = sample();
        let (side, d) = qr_path(&payload(&key, &code, &sku, None)).expect("fits a QR code");
        // Version 7 or so for ~150 characters at medium correction: 45 modules + quiet zone.
        assert!((29..=61).contains(&side), "{side}");
        assert!(d.starts_with("M4,4h1v1h-1z"), "the finder pattern's corner is dark");
    }
}
