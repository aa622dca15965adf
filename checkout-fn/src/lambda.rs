//! Under AWS Lambda the function receives two kinds of events: HTTP requests from its function
//! URL (handed to the router, as `lambda_http::run` would) and the reconciler's schedule
//! (EventBridge Scheduler, sending the `Input` the template gives it: `{"chalet": "reconcile"}`;
//! a classic EventBridge rule's `"source": "aws.events"` event is accepted too).

use crate::AppState;
use lambda_http::request::LambdaRequest;
use lambda_http::{Adapter, LambdaEvent, Service, lambda_runtime};
use serde_json::{Value, json};

/// The `Input` of the reconciler's schedule in `infra/template.yaml`.
pub const RECONCILE_INPUT: &str = r#"{"chalet":"reconcile"}"#;

/// The `Input` of the daily schedule erasing old orders' personal data (`crate::purge`).
pub const PURGE_INPUT: &str = r#"{"chalet":"purge"}"#;

/// Whether an invocation is the reconciler's schedule rather than an HTTP request.
pub fn is_schedule(payload: &Value) -> bool {
    payload.get("chalet").and_then(Value::as_str) == Some("reconcile")
        || payload.get("source").and_then(Value::as_str) == Some("aws.events")
}

fn is_purge(payload: &Value) -> bool {
    payload.get("chalet").and_then(Value::as_str) == Some("purge")
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
    if is_purge(&payload) {
        let today = chalet_types::Date::from_unix(crate::now());
        let erased = state.store.purge(state.config.retention_days, today, false).await?;
        tracing::info!(erased = erased.len(), "personal data of old orders erased");
        return Ok(json!({ "erased": erased.len() }));
    }
    if is_schedule(&payload) {
        let report = crate::reconcile::reconcile(&state, crate::reconcile::default_older_than(), false).await?;
        tracing::info!(
            looked_at = report.lines.len(),
            failed = report.failures(),
            "reconciler run"
        );
        return Ok(json!({ "reconciled": report.lines.len(), "failed": report.failures() }));
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
    fn tells_the_schedule_from_requests() {
        assert!(is_schedule(&serde_json::from_str(RECONCILE_INPUT).expect("json")));
        assert!(is_schedule(
            &json!({ "source": "aws.events", "detail-type": "Scheduled Event" })
        ));
        assert!(!is_schedule(
            &json!({ "version": "2.0", "rawPath": "/checkout", "requestContext": {} })
        ));
    }
}
