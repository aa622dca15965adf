//! Every error the function answers with: `{"error": {"code", "message", …}}` and a precise status.
//! 4xx messages are written for the shopper's browser; 5xx say only "something went wrong" while
//! the details go to the log.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{message}")]
    Client {
        status: StatusCode,
        code: &'static str,
        message: String,
        details: Value,
    },
    /// Something on our side (DynamoDB, Stripe, a bug): logged, never shown.
    #[error("internal: {0}")]
    Internal(String),
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError::Client {
            status,
            code,
            message: message.into(),
            details: Value::Null,
        }
    }

    pub fn with(status: StatusCode, code: &'static str, message: impl Into<String>, details: Value) -> ApiError {
        ApiError::Client {
            status,
            code,
            message: message.into(),
            details,
        }
    }

    pub fn invalid(code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, code, message)
    }

    pub fn internal(e: impl std::fmt::Display) -> ApiError {
        ApiError::Internal(e.to_string())
    }

    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::Client { status, .. } => *status,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
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
                let mut error = json!({ "code": code, "message": message });
                if let (Value::Object(extra), Some(obj)) = (details, error.as_object_mut()) {
                    obj.extend(extra);
                }
                (status, Json(json!({ "error": error }))).into_response()
            }
            ApiError::Internal(detail) => {
                tracing::error!(error = %detail, "internal error");
                let body =
                    json!({ "error": { "code": "internal", "message": "something went wrong; please try again" } });
                (StatusCode::INTERNAL_SERVER_ERROR, Json(body)).into_response()
            }
        }
    }
}
