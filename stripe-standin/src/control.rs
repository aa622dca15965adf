//! The control endpoints tests drive the stand-in with (`/__control/…`): pay, expire or settle a
//! session, resend or withhold events, plan faults, and read what was asked and sent.

use super::*;

pub(crate) async fn plan_faults(State(s): State<StandIn>, Json(plan): Json<faults::PlanRequest>) -> Json<Value> {
    s.store.lock().unwrap_or_else(|e| e.into_inner()).faults.set(plan);
    Json(json!({ "planned": true }))
}

#[derive(serde::Deserialize)]
pub(crate) struct Webhooks {
    withhold: Option<bool>,
    url: Option<String>,
}

pub(crate) async fn withhold(State(s): State<StandIn>, Json(w): Json<Webhooks>) -> Json<Value> {
    let mut store = s.store.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(withhold) = w.withhold {
        store.withhold = withhold;
    }
    if w.url.is_some() {
        store.webhook_url = w.url;
    }
    Json(json!({ "withhold": store.withhold, "url": store.webhook_url }))
}

#[derive(serde::Deserialize, Default)]
pub(crate) struct ControlBody {
    webhook_url: Option<String>,
    #[serde(flatten)]
    shopper: Shopper,
    /// `false`: record the event without delivering it (resend it later, or never).
    deliver: Option<bool>,
}

pub(crate) async fn control(
    State(s): State<StandIn>,
    Path((id, action)): Path<(String, String)>,
    body: Option<Json<ControlBody>>,
) -> Response {
    if !["pay", "expire", "process", "succeed", "fail"].contains(&action.as_str()) {
        return stripe_error(StatusCode::NOT_FOUND, "invalid_request_error", "Unknown control action");
    }
    let body = body.map(|b| b.0).unwrap_or_default();
    let event = match s.transition(&id, &action, &body.shopper) {
        Ok(e) => e,
        Err(r) => return *r,
    };
    let target = body.webhook_url.or_else(|| s.target());
    let delivered = match target.filter(|_| body.deliver != Some(false)) {
        Some(url) => match s.deliver(&event, &url).await {
            Ok(code) => json!(code),
            Err(e) => json!(e),
        },
        None => Value::Null,
    };
    Json(json!({ "event": event, "delivered": delivered })).into_response()
}

pub(crate) async fn resend(
    State(s): State<StandIn>,
    Path(id): Path<String>,
    body: Option<Json<ControlBody>>,
) -> Response {
    let event = s
        .store
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .events
        .get(&id)
        .cloned();
    let Some(event) = event else {
        return stripe_error(StatusCode::NOT_FOUND, "invalid_request_error", "No such event");
    };
    let Some(url) = body.and_then(|b| b.0.webhook_url).or_else(|| s.target()) else {
        return stripe_error(StatusCode::BAD_REQUEST, "invalid_request_error", "No webhook URL");
    };
    match s.deliver(&event, &url).await {
        Ok(code) => Json(json!({ "delivered": code })).into_response(),
        Err(e) => Json(json!({ "delivered": e })).into_response(),
    }
}

/// Every event made so far, oldest first (`id`, `type`, `created`).
pub(crate) async fn events(State(s): State<StandIn>) -> Json<Value> {
    let store = s.store.lock().unwrap_or_else(|e| e.into_inner());
    let mut list: Vec<Value> = store
        .events
        .values()
        .map(|e| json!({ "id": e["id"], "type": e["type"], "created": e["created"] }))
        .collect();
    list.sort_by_key(|e| e["created"].as_i64());
    Json(json!(list))
}

pub(crate) async fn requests(State(s): State<StandIn>) -> Json<Value> {
    Json(json!(s.store.lock().unwrap_or_else(|e| e.into_inner()).requests))
}
