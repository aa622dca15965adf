//! The secrets a running function may need to re-read, and the check that a request came
//! through the market's CloudFront distribution.
//!
//! A webhook secret rolled in Stripe and updated in the parameter store reaches a warm function
//! only if it asks again: a deploy with no change to code or parameters restarts nothing. So a
//! signature that fails is checked once more against a freshly read secret (at most once a
//! minute, so forged requests cannot turn into a flood of parameter-store calls).

use crate::config::SecretSource;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

/// The header CloudFront adds to every request it forwards to the function.
pub const ORIGIN_HEADER: &str = "x-origin-verify";

/// How often a failing signature may trigger a re-read of the webhook secret.
pub const REFRESH_EVERY: Duration = Duration::from_secs(60);

#[derive(Debug)]
pub struct WebhookSecret {
    current: RwLock<String>,
    source: Option<SecretSource>,
    last_refresh: Mutex<Option<Instant>>,
}

impl WebhookSecret {
    pub fn new(secret: String, source: Option<SecretSource>) -> WebhookSecret {
        WebhookSecret {
            current: RwLock::new(secret),
            source,
            last_refresh: Mutex::new(None),
        }
    }

    pub fn get(&self) -> String {
        self.current.read().map(|s| s.clone()).unwrap_or_default()
    }

    /// Re-reads the secret from the parameter store; `Some(new)` when it changed. Nothing is
    /// read when the secret did not come from the store or was read less than a minute ago.
    pub async fn refresh(&self) -> Option<String> {
        let source = self.source.as_ref()?;
        let name = source.webhook_parameter.clone()?;
        {
            let mut last = self.last_refresh.lock().ok()?;
            if last.is_some_and(|t| t.elapsed() < REFRESH_EVERY) {
                return None;
            }
            *last = Some(Instant::now());
        }
        let fresh = match source.read(std::slice::from_ref(&name)).await {
            Ok(values) => values.get(&name).cloned()?,
            Err(e) => {
                tracing::error!(error = %e, "could not re-read the webhook secret");
                return None;
            }
        };
        let mut current = self.current.write().ok()?;
        if *current == fresh {
            return None;
        }
        tracing::warn!("the webhook secret changed in the parameter store; using the new one");
        *current = fresh.clone();
        Some(fresh)
    }
}

/// Equal, in time that depends only on the lengths (which are not secret).
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Refuses requests that did not come through CloudFront: the function URL is public (auth type
/// `NONE`, so browsers and Stripe can POST through CloudFront), and CloudFront adds
/// `X-Origin-Verify` with one of `secrets` (two during a rotation). No secrets: no check.
pub async fn origin_check(State(secrets): State<Arc<Vec<String>>>, req: Request, next: Next) -> Response {
    if secrets.is_empty() {
        return next.run(req).await;
    }
    let given = req.headers().get(ORIGIN_HEADER).map(|v| v.as_bytes()).unwrap_or(b"");
    // Every candidate is compared, so timing says nothing about which one (or how much) matched.
    let ok = secrets.iter().fold(false, |acc, s| same(s.as_bytes(), given) | acc);
    if ok {
        return next.run(req).await;
    }
    crate::error::ApiError::new(
        StatusCode::FORBIDDEN,
        chalet_types::ErrorCode::Forbidden,
        "this address is only reachable through the market's site",
    )
    .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compares_whole_values() {
        assert!(same(b"abc", b"abc"));
        assert!(!same(b"abc", b"abd"));
        assert!(!same(b"abc", b"ab"));
        assert!(!same(b"", b"a"));
    }
}
