//! The router in process (axum's `oneshot`), with no peers: routing under `/` and `/api`, input
//! validation, error shapes and CORS. The store and Stripe clients point at a closed port; every
//! request here is answered before either would be called. Pricing runs on the committed
//! catalogue fixture. The integration tests against the real peers are in `checkout.rs`.

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use chalet_types::{Catalogue, ErrorCode, FulfilmentChoice, Language, Sku};
use checkout_fn::config::Config;
use checkout_fn::{AppState, app, basket, dynamo::Dynamo, payments};
use serde_json::Value;
use std::collections::BTreeMap;
use tower::ServiceExt;

/// The catalogue these tests price against, committed so that editing the example market never
/// changes what the tests expect.
fn catalogue() -> Catalogue {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/catalogue.json");
    serde_json::from_str(&std::fs::read_to_string(path).expect("fixture")).expect("a catalogue")
}

fn state(site: &str) -> AppState {
    let vars: BTreeMap<String, String> = [
        ("TABLE_NAME", "unused"),
        ("STRIPE_SECRET_KEY", "sk_test_unused"),
        ("STRIPE_WEBHOOK_SECRET", "whsec_unused"),
        ("VOUCHER_CODES_KEY", "vck_unused_0123456789abcdef0123456789"),
        ("SITE_URL", site),
        // Port 9 (discard) on loopback: nothing answers; nothing here should ask.
        ("STRIPE_API_BASE", "http://127.0.0.1:9"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    let config = Config::from_vars(&vars).expect("config");
    let dynamo = aws_sdk_dynamodb::Config::builder()
        .behavior_version(aws_sdk_dynamodb::config::BehaviorVersion::latest())
        .endpoint_url("http://127.0.0.1:9")
        .region(aws_sdk_dynamodb::config::Region::new("eu-west-1"))
        .credentials_provider(aws_sdk_dynamodb::config::Credentials::new("t", "t", None, None, "test"))
        .build();
    let store = Dynamo::new(aws_sdk_dynamodb::Client::from_conf(dynamo), "unused");
    let stripe = payments::Stripe::new("sk_test_unused", Some("http://127.0.0.1:9")).expect("client");
    AppState::new(config, store, stripe)
}

async fn call(req: Request<Body>) -> (StatusCode, Value, axum::http::HeaderMap) {
    let resp = app(state("https://x.example/marche"))
        .oneshot(req)
        .await
        .expect("infallible");
    let (parts, body) = resp.into_parts();
    let bytes = axum::body::to_bytes(body, 1 << 20).await.expect("body");
    (
        parts.status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        parts.headers,
    )
}

fn post(path: &str, content_type: &str, body: impl Into<Body>) -> Request<Body> {
    Request::post(path)
        .header(header::CONTENT_TYPE, content_type)
        .body(body.into())
        .expect("request")
}

/// The error's code, checked to be one of the codes the theme is handed.
fn code(body: &Value) -> ErrorCode {
    serde_json::from_value(body["error"]["code"].clone()).unwrap_or_else(|_| panic!("not an ErrorCode: {body}"))
}

#[tokio::test]
async fn routes_answer_at_the_root_and_under_api() {
    for path in ["/health", "/api/health"] {
        let (status, body, _) = call(Request::get(path).body(Body::empty()).expect("req")).await;
        assert_eq!(
            (status, body["status"].as_str()),
            (StatusCode::OK, Some("ok")),
            "{path}"
        );
    }
    for path in ["/nope", "/api/nope", "/api/checkout/extra"] {
        let (status, body, headers) = call(Request::get(path).body(Body::empty()).expect("req")).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}");
        assert_eq!(code(&body), ErrorCode::NotFound);
        assert_eq!(headers[header::CONTENT_TYPE], "application/json", "JSON, never a page");
    }
}

#[tokio::test]
async fn bad_checkout_requests_get_specific_4xx_json() {
    let json = "application/json";
    let cases: Vec<(Request<Body>, StatusCode, ErrorCode)> = vec![
        (
            post("/api/checkout", "text/plain", "{}"),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ErrorCode::UnsupportedMediaType,
        ),
        (
            post("/api/checkout", json, vec![b' '; 70 * 1024]),
            StatusCode::PAYLOAD_TOO_LARGE,
            ErrorCode::BodyTooLarge,
        ),
        (
            post("/api/checkout", json, "{"),
            StatusCode::BAD_REQUEST,
            ErrorCode::InvalidJson,
        ),
        (
            post("/api/checkout", json, r#"{"items":[]}"#),
            StatusCode::UNPROCESSABLE_ENTITY,
            ErrorCode::EmptyBasket,
        ),
        (
            post("/checkout", json, r#"{"items":[{"sku":"a/b","quantity":0}]}"#),
            StatusCode::UNPROCESSABLE_ENTITY,
            ErrorCode::InvalidQuantity,
        ),
        (
            post(
                "/api/checkout",
                json,
                r#"{"items":[{"sku":"a/b","quantity":1},{"sku":"a/b","quantity":2}]}"#,
            ),
            StatusCode::UNPROCESSABLE_ENTITY,
            ErrorCode::DuplicateSku,
        ),
        (
            post(
                "/api/checkout",
                json,
                r#"{"items":[{"sku":"../etc/passwd","quantity":1}]}"#,
            ),
            StatusCode::UNPROCESSABLE_ENTITY,
            ErrorCode::UnknownSku,
        ),
        (
            Request::get("/api/availability").body(Body::empty()).expect("req"),
            StatusCode::BAD_REQUEST,
            ErrorCode::InvalidChalet,
        ),
        (
            Request::get("/api/availability?chalet=../x")
                .body(Body::empty())
                .expect("req"),
            StatusCode::BAD_REQUEST,
            ErrorCode::InvalidChalet,
        ),
        (
            Request::get("/api/orders/not-a-session")
                .body(Body::empty())
                .expect("req"),
            StatusCode::BAD_REQUEST,
            ErrorCode::OrderNotFound,
        ),
        (
            post("/api/webhook", json, r#"{"id":"evt_1"}"#),
            StatusCode::BAD_REQUEST,
            ErrorCode::BadSignature,
        ),
        (
            post("/api/registrations", json, r#"{"chalet_name":"x"}"#),
            StatusCode::BAD_REQUEST,
            ErrorCode::InvalidJson,
        ),
    ];
    for (req, status, expected) in cases {
        let what = format!("{} {}", req.method(), req.uri());
        let (got, body, _) = call(req).await;
        assert_eq!(got, status, "{what}: {body}");
        assert_eq!(code(&body), expected, "{what}");
        assert!(
            body["error"]["message"].as_str().is_some_and(|m| !m.is_empty()),
            "{what}"
        );
    }
}

#[tokio::test]
async fn cors_allows_the_site_origin_only_even_under_a_sub_path() {
    let preflight = |origin: &str| {
        Request::builder()
            .method("OPTIONS")
            .uri("/api/checkout")
            .header(header::ORIGIN, origin)
            .header(header::ACCESS_CONTROL_REQUEST_METHOD, "POST")
            .body(Body::empty())
            .expect("req")
    };
    let (_, _, headers) = call(preflight("https://x.example")).await;
    assert_eq!(
        headers.get(header::ACCESS_CONTROL_ALLOW_ORIGIN).map(|v| v.as_bytes()),
        Some(&b"https://x.example"[..]),
        "the origin of SITE_URL https://x.example/marche"
    );
    // tower-http answers the one allowed origin whoever asks; the browser refuses the mismatch.
    let (_, _, headers) = call(preflight("https://evil.example")).await;
    let allowed = headers.get(header::ACCESS_CONTROL_ALLOW_ORIGIN).map(|v| v.as_bytes());
    assert_ne!(allowed, Some(&b"https://evil.example"[..]));
}

#[test]
fn prices_come_from_the_catalogue_and_labels_from_the_market() {
    let cat = catalogue();
    let body = br#"{"items":[{"sku":"la-cire-d-outremeuse/bougie-pain-d-epices","quantity":2,"price":1}],"fulfilment":{"la-cire-d-outremeuse":"shipping"}}"#;
    let req = basket::parse(body).expect("parses");
    let lines = basket::validate_shape(&req).expect("shape");
    let priced = basket::price(&lines, &cat.items, &req.fulfilment).expect("priced");
    let sku = Sku::parse("la-cire-d-outremeuse/bougie-pain-d-epices").expect("sku");
    let item = cat.item(&sku).expect("in the fixture");
    assert_eq!(priced.lines[0].item.price, item.price, "the client's price is ignored");
    let shipping = item.fulfilment.shipping.expect("the fixture's chalet ships");
    assert_eq!(priced.chalets[0].choice, FulfilmentChoice::Shipping);
    let subtotal = item.price.checked_mul(2).expect("small");
    assert_eq!(
        priced.total,
        subtotal.checked_add(shipping.fee_for(subtotal)).expect("small")
    );
    let lines = payments::session_lines(&priced, Language::Nl);
    if shipping.fee_for(subtotal).cents() > 0 {
        let last = lines.last().expect("a shipping line");
        assert!(last.name.starts_with("Verzending — "), "{}", last.name);
    }
    let lines = payments::session_lines(&priced, Language::De);
    assert!(
        lines.iter().all(|l| !l.name.starts_with("Livraison")),
        "no French literal in a German market"
    );
}
