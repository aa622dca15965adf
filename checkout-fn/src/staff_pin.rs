//! A restaurant's waiters redeem vouchers with a **staff PIN** the restaurant sets from its
//! private link, so the link itself (which opens every order, addresses included) never has to
//! be handed round the dining room. `POST /chalets/{slug}/pin` with the link's token sets it
//! (or, with `null`, ends it); `POST /vouchers/{code}/redeem` then accepts `{chalet, pin}`.
//!
//! A PIN is short, so two things guard it. What the table keeps is an HMAC of the PIN under the
//! links' key (`LINKS_KEY`, which never leaves the function's secrets) and a random salt: a copy
//! of the table alone cannot be tried offline, and rotating the key ends every PIN with every
//! link. And wrong PINs are counted per chalet — at most [`MAX_WRONG`] in [`WINDOW_SECONDS`],
//! then 429 with `Retry-After` until the window ends (NIST SP 800-63B §5.2.2 asks for a limit on
//! failed attempts; per chalet rather than per address, since addresses are cheap to change).
//! Each try *takes* an attempt with a conditional write before the PIN is compared, and a right
//! PIN gives it back, so concurrent guesses can never exceed the limit. Setting the PIN again
//! (which needs the link) lifts a lock.

use crate::AppState;
use crate::dynamo::{Dynamo, Item, StoreError, conditional_output, get_n, get_s, key, n, s};
use crate::error::ApiError;
use crate::routes::{MAX_BODY, read_body};
use aws_sdk_dynamodb::types::ReturnValue;
use axum::Json;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use chalet_types::table::{PIN_KEY, PIN_PREFIX};
use chalet_types::{ErrorCode, Slug};
use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::Sha256;
use std::collections::HashMap;

pub const MIN_DIGITS: usize = 6;
pub const MAX_DIGITS: usize = 12;
/// Wrong PINs allowed per chalet in one window before it locks.
pub const MAX_WRONG: i64 = 5;
pub const WINDOW_SECONDS: i64 = 15 * 60;

// The PIN's attributes on its `PIN#` item.
const HASH: &str = "pin_hash";
const SALT: &str = "pin_salt";
const SET_AT: &str = "pin_set_at";
const FAILS: &str = "fails";
const WINDOW: &str = "window_start";

/// Why a PIN cannot be set: the message the artisan sees.
pub fn check_new(pin: &str) -> Result<(), &'static str> {
    let digits: Vec<u8> = pin.bytes().map(|b| b.wrapping_sub(b'0')).collect();
    if !(MIN_DIGITS..=MAX_DIGITS).contains(&digits.len()) || digits.iter().any(|&d| d > 9) {
        return Err("a staff PIN is 6 to 12 digits");
    }
    let steps: Vec<i16> = digits.windows(2).map(|w| i16::from(w[1]) - i16::from(w[0])).collect();
    // 000000, 123456, 987654: the first PINs anyone tries.
    if steps.iter().all(|&d| d == steps[0]) && steps[0].abs() <= 1 {
        return Err("a staff PIN may not be one digit repeated or a run like 123456");
    }
    Ok(())
}

/// What the table keeps: an HMAC under the links' key of the chalet, the salt and the PIN.
fn mac(links_key: &str, slug: &Slug, salt: &str, pin: &str) -> Hmac<Sha256> {
    let mut m = Hmac::<Sha256>::new_from_slice(links_key.as_bytes()).expect("HMAC takes any key");
    m.update(format!("staff-pin:v1:{slug}:{salt}:{pin}").as_bytes());
    m
}

/// What one try found: an attempt taken (with the stored hash and salt, and the wrong tries
/// counted so far including this one), a lock until a time, or no PIN at all.
enum Attempt {
    Taken { hash: String, salt: String, fails: i64 },
    Locked { until: i64 },
    NoPin,
}

impl Dynamo {
    fn pin_update(&self, slug: &Slug) -> aws_sdk_dynamodb::operation::update_item::builders::UpdateItemFluentBuilder {
        self.client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(format!("{PIN_PREFIX}{slug}"), PIN_KEY)))
    }

    async fn set_pin(&self, slug: &Slug, hash: &str, salt: &str, now: i64) -> Result<(), StoreError> {
        self.pin_update(slug)
            .update_expression("SET #h = :h, #s = :s, #at = :now, #f = :zero, #w = :zero")
            .expression_attribute_names("#h", HASH)
            .expression_attribute_names("#s", SALT)
            .expression_attribute_names("#at", SET_AT)
            .expression_attribute_names("#f", FAILS)
            .expression_attribute_names("#w", WINDOW)
            .expression_attribute_values(":h", s(hash))
            .expression_attribute_values(":s", s(salt))
            .expression_attribute_values(":now", n(now))
            .expression_attribute_values(":zero", n(0))
            .send()
            .await
            .map(|_| ())
            .map_err(crate::dynamo::err)
    }

    async fn clear_pin(&self, slug: &Slug) -> Result<(), StoreError> {
        self.pin_update(slug)
            .update_expression("REMOVE #h, #s, #at")
            .expression_attribute_names("#h", HASH)
            .expression_attribute_names("#s", SALT)
            .expression_attribute_names("#at", SET_AT)
            .send()
            .await
            .map(|_| ())
            .map_err(crate::dynamo::err)
    }

    async fn pin_item(&self, slug: &Slug) -> Result<Option<Item>, StoreError> {
        Ok(self
            .get(key(format!("{PIN_PREFIX}{slug}"), PIN_KEY))
            .await?
            .filter(|item| get_s(item, HASH).is_some()))
    }

    /// Takes one try from the chalet's allowance: a new window if the last one is over, else
    /// one more in it while fewer than [`MAX_WRONG`] are counted. Both are conditional writes,
    /// so two tries at once are both counted.
    async fn take_attempt(&self, slug: &Slug, now: i64) -> Result<Attempt, StoreError> {
        let taken = |out: aws_sdk_dynamodb::operation::update_item::UpdateItemOutput| {
            let item = out.attributes.unwrap_or_default();
            Attempt::Taken {
                hash: get_s(&item, HASH).unwrap_or_default().to_string(),
                salt: get_s(&item, SALT).unwrap_or_default().to_string(),
                fails: get_n(&item, FAILS).unwrap_or(MAX_WRONG),
            }
        };
        let fresh = self
            .pin_update(slug)
            .update_expression("SET #f = :one, #w = :now")
            .condition_expression("attribute_exists(#h) AND #w <= :over")
            .expression_attribute_names("#f", FAILS)
            .expression_attribute_names("#w", WINDOW)
            .expression_attribute_names("#h", HASH)
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":now", n(now))
            .expression_attribute_values(":over", n(now - WINDOW_SECONDS))
            .return_values(ReturnValue::AllNew)
            .send()
            .await;
        if let Some(out) = conditional_output(fresh)? {
            return Ok(taken(out));
        }
        let more = self
            .pin_update(slug)
            .update_expression("ADD #f :one")
            .condition_expression("attribute_exists(#h) AND #f < :max")
            .expression_attribute_names("#f", FAILS)
            .expression_attribute_names("#h", HASH)
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":max", n(MAX_WRONG))
            .return_values(ReturnValue::AllNew)
            .send()
            .await;
        if let Some(out) = conditional_output(more)? {
            return Ok(taken(out));
        }
        Ok(match self.pin_item(slug).await? {
            None => Attempt::NoPin,
            Some(item) => Attempt::Locked {
                until: get_n(&item, WINDOW).unwrap_or(now) + WINDOW_SECONDS,
            },
        })
    }

    /// A right PIN was no wrong try: its attempt goes back.
    async fn give_back_attempt(&self, slug: &Slug) -> Result<(), StoreError> {
        let back = self
            .pin_update(slug)
            .update_expression("ADD #f :minus")
            .condition_expression("#f > :zero")
            .expression_attribute_names("#f", FAILS)
            .expression_attribute_values(":minus", n(-1))
            .expression_attribute_values(":zero", n(0))
            .send()
            .await;
        conditional_output(back).map(|_| ())
    }
}

/// Whether `pin` is `slug`'s staff PIN: `Ok` or the refusal to answer with (403 wrong, with the
/// tries left; 429 locked, with when to try again).
pub(crate) async fn check(st: &AppState, slug: &Slug, pin: &str) -> Result<(), ApiError> {
    let links_key = crate::links::key(st)?;
    let now = crate::now();
    let wrong = |left: i64| {
        ApiError::with(
            StatusCode::FORBIDDEN,
            ErrorCode::WrongPin,
            "this PIN is not the chalet's staff PIN",
            json!({ "attempts_left": left }),
        )
    };
    match st.store.take_attempt(slug, now).await.map_err(ApiError::internal)? {
        Attempt::NoPin => Err(wrong(0)),
        Attempt::Locked { until } => {
            let wait = (until - now).max(1);
            Err(ApiError::with(
                StatusCode::TOO_MANY_REQUESTS,
                ErrorCode::TooManyAttempts,
                format!(
                    "too many wrong PINs: try again in {} minutes, or use the chalet's private link",
                    (wait + 59) / 60
                ),
                json!({ "retry_after": wait }),
            ))
        }
        Attempt::Taken { hash, salt, fails } => {
            let right = crate::links::unhex(&hash)
                .is_some_and(|stored| mac(links_key, slug, &salt, pin).verify_slice(&stored).is_ok());
            if !right {
                tracing::warn!(chalet = %slug, fails, "a wrong staff PIN");
                return Err(wrong((MAX_WRONG - fails).max(0)));
            }
            st.store.give_back_attempt(slug).await.map_err(ApiError::internal)?;
            Ok(())
        }
    }
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct SetRequest {
    pin: Option<String>,
}

fn state(item: Option<&Item>) -> Value {
    json!({
        "set": item.is_some(),
        "set_at": item.and_then(|i| get_n(i, SET_AT)),
        "max_wrong": MAX_WRONG,
        "window_seconds": WINDOW_SECONDS,
    })
}

/// `GET /chalets/{slug}/pin` (the link's token as `Authorization: Bearer`): whether a staff PIN
/// is set, and since when. Never the PIN.
pub async fn show(
    State(st): State<AppState>,
    Path(slug): Path<String>,
    headers: HeaderMap,
) -> Result<Json<Value>, ApiError> {
    let slug = crate::links::authorised(&st, &slug, crate::links::token_of(&headers, &HashMap::new()))?;
    let item = st.store.pin_item(&slug).await.map_err(ApiError::internal)?;
    Ok(Json(state(item.as_ref())))
}

/// `POST /chalets/{slug}/pin` `{pin}` (the link's token as `Authorization: Bearer`): sets the
/// staff PIN (and lifts a lock); `{pin: null}` ends it, so only the link redeems again.
pub async fn set(
    State(st): State<AppState>,
    Path(slug): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<Value>, ApiError> {
    let slug = crate::links::authorised(&st, &slug, crate::links::token_of(&headers, &HashMap::new()))?;
    let bytes = read_body(&headers, body, MAX_BODY, true).await?;
    let req: SetRequest = serde_json::from_slice(&bytes)
        .map_err(|_| ApiError::new(StatusCode::BAD_REQUEST, ErrorCode::InvalidJson, "send {pin}"))?;
    let Some(pin) = req.pin else {
        st.store.clear_pin(&slug).await.map_err(ApiError::internal)?;
        tracing::info!(chalet = %slug, "staff PIN ended");
        return Ok(Json(state(None)));
    };
    check_new(&pin).map_err(|m| ApiError::new(StatusCode::BAD_REQUEST, ErrorCode::InvalidPin, m))?;
    let mut salt = [0u8; 16];
    getrandom::fill(&mut salt).map_err(|e| ApiError::internal(std::io::Error::other(e.to_string())))?;
    let salt = chalet_types::hex(&salt);
    let hash = chalet_types::hex(&mac(crate::links::key(&st)?, &slug, &salt, &pin).finalize().into_bytes());
    st.store
        .set_pin(&slug, &hash, &salt, crate::now())
        .await
        .map_err(ApiError::internal)?;
    tracing::info!(chalet = %slug, "staff PIN set");
    let item = st.store.pin_item(&slug).await.map_err(ApiError::internal)?;
    Ok(Json(state(item.as_ref())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pins_are_six_to_twelve_digits_and_not_the_first_ones_tried() {
        for ok in ["402917", "000001", "123457", "864213579024"] {
            assert_eq!(check_new(ok), Ok(()), "{ok}");
        }
        for bad in [
            "12345",
            "1234567890123",
            "12a456",
            "",
            "٣٣٣٣٣٣",
            "000000",
            "123456",
            "987654",
            "5555555",
        ] {
            assert!(check_new(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_hash_depends_on_key_chalet_salt_and_pin() {
        let slug = Slug::parse("chez-marie").expect("slug");
        let other = Slug::parse("chez-paul").expect("slug");
        let h = |k, s: &Slug, salt, pin| chalet_types::hex(&mac(k, s, salt, pin).finalize().into_bytes());
        let base = h("key", &slug, "aa", "402917");
        assert_eq!(base, h("key", &slug, "aa", "402917"));
        assert_ne!(base, h("key2", &slug, "aa", "402917"));
        assert_ne!(base, h("key", &other, "aa", "402917"));
        assert_ne!(base, h("key", &slug, "ab", "402917"));
        assert_ne!(base, h("key", &slug, "aa", "402918"));
    }
}
