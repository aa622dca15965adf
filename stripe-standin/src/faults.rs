//! What makes the stand-in misbehave on purpose, and Stripe's idempotency, which is how a client
//! survives that misbehaviour.
//!
//! Idempotency, as Stripe documents it ("Idempotent requests", docs.stripe.com/api/idempotent_requests):
//! the status and body of the first request made with an `Idempotency-Key` are saved once the
//! endpoint starts executing, and a retry with the same key gets them back; a retry whose
//! parameters differ is refused with an `idempotency_error`; a request that failed validation is
//! not saved, so it may be retried. Keys are at most 255 characters.

use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::{Value, json};
use std::collections::VecDeque;

/// One planned misbehaviour of the next `POST /v1/…` call.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Fault {
    /// Answer this status (429, 500, 503…) with Stripe's error shape and do nothing.
    #[serde(default)]
    pub status: Option<u16>,
    /// Do the work, then wait this long before answering (the answer is late or lost).
    #[serde(default)]
    pub delay_ms: Option<u64>,
    /// Wait this long before even looking at the request (Stripe stalled), then go on.
    #[serde(default)]
    pub stall_ms: Option<u64>,
}

/// The planned faults: consumed one per API call; with `repeat`, the last one stays.
#[derive(Debug, Default)]
pub struct Plan {
    queue: VecDeque<Fault>,
    repeat: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlanRequest {
    pub faults: Vec<Fault>,
    #[serde(default)]
    pub repeat: bool,
}

impl Plan {
    pub fn set(&mut self, request: PlanRequest) {
        self.queue = request.faults.into();
        self.repeat = request.repeat;
    }

    pub fn take(&mut self) -> Option<Fault> {
        if self.repeat && self.queue.len() == 1 {
            return self.queue.front().cloned();
        }
        self.queue.pop_front()
    }
}

/// Stripe's error body for a status the plan asked for.
pub fn error_for(status: u16) -> (StatusCode, Value) {
    let (kind, message) = match status {
        429 => (
            "rate_limit_error",
            "Too many requests hit the API too quickly. We recommend an exponential backoff of your requests.",
        ),
        s if s >= 500 => ("api_error", "An unknown error occurred"),
        _ => ("invalid_request_error", "The stand-in was told to refuse this request"),
    };
    (
        StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
        json!({ "error": { "type": kind, "message": message } }),
    )
}

/// A saved first response for an idempotency key.
#[derive(Clone, Debug)]
pub struct Saved {
    /// The endpoint and parameters of the first request: a retry must repeat them.
    pub request: Value,
    pub status: u16,
    pub body: Value,
}

/// What a request carrying `key` should get before the endpoint runs: the saved response, or
/// Stripe's refusal when the key is reused for a different request.
pub fn replay(saved: Option<&Saved>, request: &Value) -> Option<(StatusCode, Value)> {
    let saved = saved?;
    if saved.request != *request {
        return Some((
            StatusCode::BAD_REQUEST,
            json!({ "error": { "type": "idempotency_error", "message": "Keys for idempotent requests can only be used with the same parameters they were first used with. Try using a key other than the one used in the original request." } }),
        ));
    }
    Some((
        StatusCode::from_u16(saved.status).unwrap_or(StatusCode::OK),
        saved.body.clone(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_plan_is_consumed_in_order_and_may_repeat_its_last_fault() {
        let mut p = Plan::default();
        let f = |s| Fault {
            status: Some(s),
            delay_ms: None,
            stall_ms: None,
        };
        p.set(PlanRequest {
            faults: vec![f(429), f(500)],
            repeat: false,
        });
        assert_eq!(p.take(), Some(f(429)));
        assert_eq!(p.take(), Some(f(500)));
        assert_eq!(p.take(), None);
        p.set(PlanRequest {
            faults: vec![f(503)],
            repeat: true,
        });
        assert_eq!(p.take(), Some(f(503)));
        assert_eq!(p.take(), Some(f(503)));
    }

    #[test]
    fn a_key_replays_only_the_same_request() {
        let saved = Saved {
            request: json!(["create", [["mode", "payment"]]]),
            status: 200,
            body: json!({"id": "cs_1"}),
        };
        let same = replay(Some(&saved), &saved.request).expect("replayed");
        assert_eq!(same.1["id"], "cs_1");
        let other = replay(Some(&saved), &json!(["create", [["mode", "setup"]]])).expect("refused");
        assert_eq!(other.0, StatusCode::BAD_REQUEST);
        assert_eq!(other.1["error"]["type"], "idempotency_error");
        assert!(replay(None, &saved.request).is_none());
    }
}
