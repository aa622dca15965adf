//! A restaurant honours each voucher once. `POST /vouchers/{code}/redeem` with the chalet's
//! token (its private link's, [`crate::links`]) or its staff PIN ([`crate::staff_pin`]) is one
//! conditional write — `issued` → `redeemed`
//! — so two waiters scanning the same code in the same second get one yes and one "already
//! redeemed"; expired, voided (refunded) and unknown codes are refused with the reason and the
//! date. `POST /vouchers/{code}/undo` puts a redemption back within two minutes, once.

use crate::AppState;
use crate::dynamo::{Dynamo, StoreError, get_n, get_s, key, n, s};
use crate::error::ApiError;
use crate::routes::{MAX_BODY, read_body};
use axum::Json;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use chalet_types::table::{CODE_KEY, CODE_PREFIX, CodeStatus, attr};
use chalet_types::{Date, ErrorCode, Sku, Slug, VoucherCode};
use serde_json::{Value, json};

/// How long a redemption may be undone (a waiter's wrong table, a double scan).
pub const UNDO_SECONDS: i64 = 120;
/// When a code was redeemed (Unix seconds), on its `CODE#` item.
const REDEEMED_AT: &str = "redeemed_at";

/// Who redeems: the chalet's link (`{token}`) or its staff (`{chalet, pin}`).
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Request {
    token: Option<String>,
    chalet: Option<String>,
    pin: Option<String>,
}

/// A code as the table holds it.
#[derive(Debug)]
struct Code {
    sku: Sku,
    order: String,
    status: CodeStatus,
    redeemed_at: Option<i64>,
}

impl Dynamo {
    async fn code(&self, code: &VoucherCode) -> Result<Option<Code>, StoreError> {
        let Some(item) = self
            .get(key(format!("{CODE_PREFIX}{}", code.as_str()), CODE_KEY))
            .await?
        else {
            return Ok(None);
        };
        let sku = get_s(&item, attr::SKU).and_then(Sku::parse);
        let status = get_s(&item, attr::STATUS).and_then(CodeStatus::parse);
        Ok(match (sku, status, get_s(&item, attr::ORDER)) {
            (Some(sku), Some(status), Some(order)) => Some(Code {
                sku,
                order: order.to_string(),
                status,
                redeemed_at: get_n(&item, REDEEMED_AT),
            }),
            _ => None,
        })
    }

    /// `from` → `to` if the code is `from` (and, for an undo, redeemed since `since`): `false`
    /// when someone else changed it first.
    async fn move_code(
        &self,
        code: &VoucherCode,
        from: CodeStatus,
        to: CodeStatus,
        at: i64,
        since: Option<i64>,
    ) -> Result<bool, StoreError> {
        let mut update = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(format!("{CODE_PREFIX}{}", code.as_str()), CODE_KEY)))
            .expression_attribute_names("#s", attr::STATUS)
            .expression_attribute_values(":from", s(from.as_str()))
            .expression_attribute_values(":to", s(to.as_str()));
        update = match since {
            Some(since) => update
                .update_expression("SET #s = :to REMOVE #r")
                .condition_expression("#s = :from AND #r >= :since")
                .expression_attribute_names("#r", REDEEMED_AT)
                .expression_attribute_values(":since", n(since)),
            None => update
                .update_expression("SET #s = :to, #r = :at")
                .condition_expression("#s = :from")
                .expression_attribute_names("#r", REDEEMED_AT)
                .expression_attribute_values(":at", n(at)),
        };
        crate::dynamo::conditional(update.send().await)
    }
}

/// The code and what the table says of it, after the chalet's token or staff PIN. With a PIN,
/// the PIN is tried (and counted) before the code is looked at, so a wrong one costs a try
/// whatever the code.
async fn authorised(
    st: &AppState,
    code: &str,
    headers: &HeaderMap,
    body: Body,
) -> Result<(VoucherCode, Code), ApiError> {
    let bytes = read_body(headers, body, MAX_BODY, true).await?;
    let bad = || {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            ErrorCode::InvalidJson,
            "send {token} or {chalet, pin}",
        )
    };
    let req: Request = serde_json::from_slice(&bytes).map_err(|_| bad())?;
    let not_ours = || {
        ApiError::new(
            StatusCode::FORBIDDEN,
            ErrorCode::Forbidden,
            "this voucher is not one of this chalet's",
        )
    };
    let staff = match (&req.token, &req.chalet, &req.pin) {
        (Some(_), None, None) => None,
        (None, Some(chalet), Some(pin)) => {
            let slug = Slug::parse(chalet).map_err(|_| not_ours())?;
            crate::staff_pin::check(st, &slug, pin).await?;
            Some(slug)
        }
        _ => return Err(bad()),
    };
    let unknown = || {
        ApiError::new(
            StatusCode::NOT_FOUND,
            ErrorCode::UnknownVoucher,
            "no voucher has this code",
        )
    };
    let code = VoucherCode::parse(code).ok_or_else(unknown)?;
    let found = st
        .store
        .code(&code)
        .await
        .map_err(ApiError::internal)?
        .ok_or_else(unknown)?;
    let allowed = match (&staff, &req.token) {
        (Some(slug), _) => *slug == found.sku.chalet,
        (None, Some(token)) => crate::links::verify(crate::links::key(st)?, &found.sku.chalet, token),
        (None, None) => false,
    };
    if !allowed {
        return Err(not_ours());
    }
    Ok((code, found))
}

fn refused(code: ErrorCode, message: String, date: Option<String>) -> ApiError {
    ApiError::with(StatusCode::CONFLICT, code, message, json!({ "date": date }))
}

/// `POST /vouchers/{code}/redeem` `{token}` or `{chalet, pin}`.
pub async fn redeem(
    State(st): State<AppState>,
    Path(code): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<Value>, ApiError> {
    let (code, found) = authorised(&st, &code, &headers, body).await?;
    let now = crate::now();
    match found.status {
        CodeStatus::Redeemed => return Err(already(found.redeemed_at)),
        CodeStatus::Voided => {
            return Err(refused(
                ErrorCode::VoucherVoided,
                "this voucher was refunded: it is worth nothing".into(),
                None,
            ));
        }
        CodeStatus::Issued => {}
    }
    let order = st.store.order(&found.order).await.map_err(ApiError::internal)?;
    let line = order
        .as_ref()
        .and_then(|o| o.lines.iter().find(|l| l.voucher_codes.contains(&code)));
    let valid_until = order.as_ref().zip(line).and_then(|(o, l)| o.voucher_valid_until(l));
    if let Some(until) = valid_until
        && Date::from_unix(now) > until
    {
        return Err(refused(
            ErrorCode::VoucherExpired,
            format!("this voucher expired on {until}"),
            Some(until.to_string()),
        ));
    }
    if !st
        .store
        .move_code(&code, CodeStatus::Issued, CodeStatus::Redeemed, now, None)
        .await
        .map_err(ApiError::internal)?
    {
        // Another scan won the race (or a refund came in between): say what it is now.
        let now_found = st.store.code(&code).await.map_err(ApiError::internal)?;
        return Err(match now_found {
            Some(c) if c.status == CodeStatus::Voided => refused(
                ErrorCode::VoucherVoided,
                "this voucher was refunded: it is worth nothing".into(),
                None,
            ),
            other => already(other.and_then(|c| c.redeemed_at)),
        });
    }
    tracing::info!(sku = %found.sku, "voucher redeemed");
    Ok(Json(json!({
        "status": CodeStatus::Redeemed.as_str(),
        "sku": found.sku.to_string(),
        "name": line.map(|l| l.name.clone()),
        "valid_until": valid_until.map(|d| d.to_string()),
        "undo_until": now + UNDO_SECONDS,
    })))
}

/// `GET /vouchers/key`: the public key vouchers' QR codes are signed with, and their format
/// ([`crate::voucher_qr`]); public, and cached an hour.
pub async fn public_key(State(st): State<AppState>) -> impl axum::response::IntoResponse {
    (
        [(axum::http::header::CACHE_CONTROL, "public, max-age=3600")],
        Json(json!({
            "alg": "Ed25519",
            "key": crate::voucher_qr::public_key(&st.voucher_signing),
            "format": format!("{}.<code>.<chalet/product>.<valid until or ->.<signature, base64url>", crate::voucher_qr::PREFIX),
        })),
    )
}

fn already(at: Option<i64>) -> ApiError {
    let date = at.map(|t| {
        let (y, m, d, hh, mm, _) = chalet_types::date::utc(t);
        format!("{y:04}-{m:02}-{d:02} {hh:02}:{mm:02} UTC")
    });
    refused(
        ErrorCode::VoucherRedeemed,
        format!(
            "this voucher was already redeemed{}",
            date.as_deref().map(|d| format!(" on {d}")).unwrap_or_default()
        ),
        date,
    )
}

/// `POST /vouchers/{code}/undo` `{token}` or `{chalet, pin}`: within [`UNDO_SECONDS`] of the redemption, once.
pub async fn undo(
    State(st): State<AppState>,
    Path(code): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<Value>, ApiError> {
    let (code, _) = authorised(&st, &code, &headers, body).await?;
    let now = crate::now();
    let undone = st
        .store
        .move_code(
            &code,
            CodeStatus::Redeemed,
            CodeStatus::Issued,
            now,
            Some(now - UNDO_SECONDS),
        )
        .await
        .map_err(ApiError::internal)?;
    if !undone {
        return Err(refused(
            ErrorCode::UndoTooLate,
            "only a redemption of the last two minutes can be undone".into(),
            None,
        ));
    }
    Ok(Json(json!({ "status": CodeStatus::Issued.as_str() })))
}
