//! Every error the function answers with: `{"error": {"code", "message", …}}` and a precise status.
//! 4xx messages are written for the shopper's browser, with a code from
//! [`chalet_types::ErrorCode`]; 5xx say only "something went wrong" while the cause chain goes to
//! the log, once, here at the edge.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chalet_types::ErrorCode;
use serde_json::{Value, json};

/// Anything on our side, with its cause kept for the log.
pub type Cause = Box<dyn std::error::Error + Send + Sync + 'static>;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{message}")]
    Client {
        status: StatusCode,
        code: ErrorCode,
        message: String,
        details: Value,
    },
    /// Something on our side (DynamoDB, Stripe, a bug): logged, never shown.
    #[error("internal error")]
    Internal(#[source] Cause),
}

impl ApiError {
    pub fn new(status: StatusCode, code: ErrorCode, message: impl Into<String>) -> ApiError {
        ApiError::Client {
            status,
            code,
            message: message.into(),
            details: Value::Null,
        }
    }

    pub fn with(status: StatusCode, code: ErrorCode, message: impl Into<String>, details: Value) -> ApiError {
        ApiError::Client {
            status,
            code,
            message: message.into(),
            details,
        }
    }

    pub fn invalid(code: ErrorCode, message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, code, message)
    }

    pub fn internal(e: impl Into<Cause>) -> ApiError {
        ApiError::Internal(e.into())
    }

    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::Client { status, .. } => *status,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

/// `a: b: c`, the whole chain of causes.
pub fn chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        match self {
            ApiError::Client {
                status,
                code,
                message,
                details,
            } => {
                // A 429 that says when to come back says it in the header too (RFC 9110 §10.2.3).
                let retry_after = details
                    .get("retry_after")
                    .and_then(Value::as_i64)
                    .map(|s| s.to_string());
                let mut error = json!({ "code": code, "message": message });
                if let (Value::Object(extra), Some(obj)) = (details, error.as_object_mut()) {
                    obj.extend(extra);
                }
                let mut response = (status, Json(json!({ "error": error }))).into_response();
                if let Some(seconds) = retry_after.and_then(|s| axum::http::HeaderValue::from_str(&s).ok()) {
                    response.headers_mut().insert(axum::http::header::RETRY_AFTER, seconds);
                }
                response
            }
            ApiError::Internal(cause) => {
                tracing::error!(error = %chain(cause.as_ref()), "internal error");
                let body = json!({ "error": { "code": ErrorCode::Internal, "message": "something went wrong; please try again" } });
                (StatusCode::INTERNAL_SERVER_ERROR, Json(body)).into_response()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_errors_keep_their_cause_but_show_none() {
        let io = std::io::Error::other("table chalet-x not found");
        let e = ApiError::internal(io);
        assert_eq!(chain(&e), "internal error: table chalet-x not found");
        assert_eq!(e.status(), StatusCode::INTERNAL_SERVER_ERROR);
    }
}
