//! Under AWS Lambda the function receives two kinds of events: HTTP requests from its function
//! URL (handed to the router, as `lambda_http::run` would) and its schedules (EventBridge
//! Scheduler, sending the `Input` the template gives each: `{"chalet": "reconcile"}`, `"purge"`,
//! `"digest"`; a classic EventBridge rule's `"source": "aws.events"` event means the reconciler).

use crate::AppState;
use lambda_http::request::LambdaRequest;
use lambda_http::{Adapter, LambdaEvent, Service, lambda_runtime};
use serde_json::{Value, json};

/// The `Input` of the reconciler's schedule in `infra/template.yaml`.
pub const RECONCILE_INPUT: &str = r#"{"chalet":"reconcile"}"#;

/// The `Input` of the daily schedule erasing old orders' personal data (`crate::purge`).
pub const PURGE_INPUT: &str = r#"{"chalet":"purge"}"#;

/// The `Input` of the morning schedule sending chalets their digest of the day before.
pub const DIGEST_INPUT: &str = r#"{"chalet":"digest"}"#;

/// A scheduled job, as opposed to an HTTP request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Job {
    Reconcile,
    Purge,
    Digest,
}

/// Which job an invocation is, if it is a schedule's.
pub fn job(payload: &Value) -> Option<Job> {
    match payload.get("chalet").and_then(Value::as_str) {
        Some("reconcile") => Some(Job::Reconcile),
        Some("purge") => Some(Job::Purge),
        Some("digest") => Some(Job::Digest),
        _ if payload.get("source").and_then(Value::as_str) == Some("aws.events") => Some(Job::Reconcile),
        _ => None,
    }
}

/// Serves Lambda's Runtime API until the sandbox ends.
pub async fn run(state: AppState) -> Result<(), lambda_runtime::Error> {
    let router = crate::app(state.clone());
    lambda_runtime::run(lambda_runtime::service_fn(move |event: LambdaEvent<Value>| {
        let (state, router) = (state.clone(), router.clone());
        async move { dispatch(state, router, event).await }
    }))
    .await
}

async fn dispatch(
    state: AppState,
    router: axum::Router,
    event: LambdaEvent<Value>,
) -> Result<Value, lambda_runtime::Error> {
    let LambdaEvent { payload, context } = event;
    match job(&payload) {
        Some(Job::Purge) => {
            let today = chalet_types::Date::from_unix(crate::now());
            let erased = state.store.purge(state.config.retention_days, today, false).await?;
            tracing::info!(erased = erased.len(), "personal data of old orders erased");
            return Ok(json!({ "erased": erased.len() }));
        }
        Some(Job::Digest) => {
            let lines = crate::digest::run(&state, crate::digest::yesterday(crate::now()), false).await?;
            let sent = lines
                .iter()
                .filter(|l| l.outcome == crate::digest::Outcome::Sent)
                .count();
            let failed = lines
                .iter()
                .filter(|l| matches!(l.outcome, crate::digest::Outcome::Failed(_)))
                .count();
            tracing::info!(chalets = lines.len(), sent, failed, "daily digests");
            return Ok(json!({ "digests": sent, "failed": failed }));
        }
        Some(Job::Reconcile) => {
            let report = crate::reconcile::reconcile(&state, crate::reconcile::default_older_than(), false).await?;
            tracing::info!(
                looked_at = report.lines.len(),
                failed = report.failures(),
                "reconciler run"
            );
            return Ok(json!({ "reconciled": report.lines.len(), "failed": report.failures() }));
        }
        None => {}
    }
    let request: LambdaRequest = serde_json::from_value(payload)?;
    let mut adapter = Adapter::from(router);
    let response = adapter.call(LambdaEvent::new(request, context)).await?;
    Ok(serde_json::to_value(response)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tells_the_schedules_from_requests() {
        let of = |text: &str| job(&serde_json::from_str(text).expect("json"));
        assert_eq!(of(RECONCILE_INPUT), Some(Job::Reconcile));
        assert_eq!(of(PURGE_INPUT), Some(Job::Purge));
        assert_eq!(of(DIGEST_INPUT), Some(Job::Digest));
        assert_eq!(
            job(&json!({ "source": "aws.events", "detail-type": "Scheduled Event" })),
            Some(Job::Reconcile)
        );
        assert_eq!(
            job(&json!({ "version": "2.0", "rawPath": "/checkout", "requestContext": {} })),
            None
        );
    }
}
