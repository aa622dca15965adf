//! Artisans' applications sent online: `POST /applications` records the application
//! (`submitted`), answers a presigned upload for its zip (straight to the private applications
//! bucket, [`crate::uploads`]) and a Checkout Session for the registration fee, as published
//! with the market (fee minus the sponsors' share, never a price from the page). The webhook
//! marks the application `paid`; organisers list them with `checkout-fn applications`.

use crate::AppState;
use crate::dynamo::{Dynamo, StoreError, err, get_s, key, s};
use crate::error::ApiError;
use crate::routes::{MAX_BODY, read_body};
use axum::Json;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use chalet_types::ErrorCode;
use chalet_types::table::*;
use serde_json::{Value, json};

chalet_types::wire_enum! {
    /// Where an application stands.
    pub enum Status {
        /// Recorded; its zip may be uploaded, its fee not paid yet.
        Submitted = "submitted",
        /// The registration fee is paid (Stripe said so, signed).
        Paid = "paid",
    }
}

/// The largest zip accepted: what `chalet import` takes uncompressed (256 MB) is far above any
/// chalet of photos downscaled to 2,400 pixels; 100 MB leaves room for fifty products.
pub const MAX_ZIP_BYTES: u64 = 100 * 1024 * 1024;
/// Where zips go in the bucket; the function may write nowhere else.
pub const KEY_PREFIX: &str = "applications/";

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct ApplicationRequest {
    chalet_name: String,
    artisan: String,
    email: String,
    zip_size: u64,
    zip_sha256: String,
}

/// `POST /applications`.
pub async fn apply(State(st): State<AppState>, headers: HeaderMap, body: Body) -> Result<Json<Value>, ApiError> {
    let bytes = read_body(&headers, body, MAX_BODY, true).await?;
    let req: ApplicationRequest = serde_json::from_slice(&bytes).map_err(|_| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            ErrorCode::InvalidJson,
            "send {chalet_name, artisan, email, zip_size, zip_sha256}",
        )
    })?;
    let invalid = |m: &str| ApiError::invalid(ErrorCode::InvalidApplication, m.to_string());
    if req.zip_size == 0 || req.zip_size > MAX_ZIP_BYTES {
        return Err(invalid("zip_size must be 1 byte to 100 MB"));
    }
    let sha = req.zip_sha256.to_ascii_lowercase();
    if sha.len() != 64 || !sha.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(invalid("zip_sha256 must be the zip's SHA-256, 64 hexadecimal digits"));
    }
    let unavailable = || {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            ErrorCode::ApplicationsUnavailable,
            "applications cannot be sent online here; download the zip and send it by e-mail",
        )
    };
    let uploads = st.config.uploads.clone().ok_or_else(unavailable)?;
    let creds = crate::uploads::Credentials::from_env().ok_or_else(|| {
        tracing::error!("no AWS credentials in the environment to sign uploads with");
        unavailable()
    })?;
    let id = crate::routes::random_id(16);
    let registration =
        crate::registrations::registration_session(&st, &req.chalet_name, &req.artisan, &req.email, Some(&id)).await?;
    let object = format!("{KEY_PREFIX}{id}.zip");
    let created = crate::now();
    let record = json!({
        "id": id,
        "created": created,
        "chalet_name": registration.chalet_name,
        "artisan": registration.artisan,
        "email": registration.email,
        "zip_size": req.zip_size,
        "zip_sha256": sha,
        "bucket": uploads.bucket,
        "key": object,
        "session": registration.session_id,
    });
    st.store
        .put_application(&id, created, &record)
        .await
        .map_err(ApiError::internal)?;
    let upload = crate::uploads::presign_post(&uploads, &creds, &object, "application/zip", req.zip_size, created);
    Ok(Json(json!({
        "id": id,
        "upload": upload,
        "checkout": { "id": registration.session_id, "url": registration.url },
    })))
}

impl Dynamo {
    pub async fn put_application(&self, id: &str, created: i64, record: &Value) -> Result<(), StoreError> {
        let mut item = key(format!("{APPLICATION_PREFIX}{id}"), APPLICATION_KEY);
        item.insert(CHALET_INDEX_PARTITION_KEY.into(), s(APPLICATIONS_INDEX_KEY));
        item.insert(CHALET_INDEX_SORT_KEY.into(), s(format!("{created:012}#{id}")));
        item.insert(attr::STATUS.into(), s(Status::Submitted.as_str()));
        item.insert(attr::BODY.into(), s(record.to_string()));
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            // An id is random; never overwrite one all the same.
            .condition_expression("attribute_not_exists(pk)")
            .send()
            .await
            .map_err(err)?;
        Ok(())
    }

    /// Marks an application paid by `session`; `false` when there is no such application (a
    /// redelivered event finds it paid already: still `true`).
    pub async fn application_paid(&self, id: &str, session: &str) -> Result<bool, StoreError> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(format!("{APPLICATION_PREFIX}{id}"), APPLICATION_KEY)))
            .update_expression("SET #st = :paid, #ps = :session")
            .condition_expression("attribute_exists(pk)")
            .expression_attribute_names("#st", attr::STATUS)
            .expression_attribute_names("#ps", attr::SESSION_ID)
            .expression_attribute_values(":paid", s(Status::Paid.as_str()))
            .expression_attribute_values(":session", s(session))
            .send()
            .await;
        crate::dynamo::conditional(result)
    }

    /// Every application, oldest first, each its record with `status`; only `status` ones when
    /// given.
    pub async fn applications(&self, status: Option<Status>) -> Result<Vec<Value>, StoreError> {
        let items = self.index_items(APPLICATIONS_INDEX_KEY).await?;
        let mut out = Vec::new();
        for item in &items {
            let Some(mut record) = get_s(item, attr::BODY).and_then(|b| serde_json::from_str::<Value>(b).ok()) else {
                continue;
            };
            let st = get_s(item, attr::STATUS)
                .and_then(Status::parse)
                .unwrap_or(Status::Submitted);
            if status.is_some_and(|wanted| wanted != st) {
                continue;
            }
            record["status"] = json!(st.as_str());
            out.push(record);
        }
        Ok(out)
    }

    /// One application's record with its `status`; `None` when there is no such id.
    pub async fn application(&self, id: &str) -> Result<Option<Value>, StoreError> {
        let got = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key(format!("{APPLICATION_PREFIX}{id}"), APPLICATION_KEY)))
            .consistent_read(true)
            .send()
            .await
            .map_err(err)?;
        let Some(item) = got.item else { return Ok(None) };
        let Some(mut record) = get_s(&item, attr::BODY).and_then(|b| serde_json::from_str::<Value>(b).ok()) else {
            return Ok(None);
        };
        let st = get_s(&item, attr::STATUS)
            .and_then(Status::parse)
            .unwrap_or(Status::Submitted);
        record["status"] = json!(st.as_str());
        Ok(Some(record))
    }
}

/// Why an application's zip cannot be handed over.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error("no application `{0}`")]
    Unknown(String),
    #[error("application `{0}` is not paid yet (pass --unpaid to take it all the same)")]
    Unpaid(String),
    #[error("the zip of application `{0}` is not in the bucket yet: the artisan's upload did not finish")]
    NotUploaded(String),
    #[error("the zip of application `{id}` is not the one the artisan sent (SHA-256 {got}, recorded {want})")]
    Changed { id: String, got: String, want: String },
    #[error("{0}")]
    Other(String),
}

/// An application's zip, downloaded from the bucket through a presigned GET and checked
/// against the size and SHA-256 recorded when the artisan sent it: what `chalet import <id>`
/// takes in. Only a paid application unless `unpaid`.
pub async fn fetch_zip(
    store: &Dynamo,
    region: &str,
    endpoint: Option<&str>,
    creds: &crate::uploads::Credentials,
    id: &str,
    unpaid: bool,
) -> Result<(Value, Vec<u8>), FetchError> {
    let record = store
        .application(id)
        .await
        .map_err(|e| FetchError::Other(e.to_string()))?
        .ok_or_else(|| FetchError::Unknown(id.to_string()))?;
    if record["status"] != Status::Paid.as_str() && !unpaid {
        return Err(FetchError::Unpaid(id.to_string()));
    }
    let object = record["key"].as_str().unwrap_or_default();
    let size = record["zip_size"].as_u64().unwrap_or(MAX_ZIP_BYTES);
    // The bucket the application was sent to, as recorded.
    let uploads = crate::uploads::Uploads {
        bucket: record["bucket"].as_str().unwrap_or_default().to_string(),
        region: region.to_string(),
        endpoint: endpoint.map(str::to_string),
    };
    let url = crate::uploads::presign_get(&uploads, creds, object, crate::now());
    let bytes = match crate::uploads::download(&url, size.min(MAX_ZIP_BYTES)).await {
        Ok(Some(b)) => b,
        Ok(None) => return Err(FetchError::NotUploaded(id.to_string())),
        Err(e) => return Err(FetchError::Other(e)),
    };
    let got = chalet_types::hex(&<sha2::Sha256 as sha2::Digest>::digest(&bytes));
    let want = record["zip_sha256"].as_str().unwrap_or_default().to_string();
    if got != want {
        return Err(FetchError::Changed {
            id: id.to_string(),
            got,
            want,
        });
    }
    Ok((record, bytes))
}
