//! The function as Lambda runs it: the built `checkout-fn` binary under a Runtime API written
//! to AWS's documented interface ("Using the Lambda runtime API for custom runtimes":
//! `GET /2018-06-01/runtime/invocation/next`, `POST …/invocation/{id}/response`,
//! `POST …/runtime/init/error`), fed function URL events (payload format 2.0, as CloudFront
//! forwards them with the `/api` prefix), against the real peers started by `scripts/test`.

use crate::common::*;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::Arc;
use tokio::sync::{Mutex, mpsc, oneshot};

const ORIGIN_SECRET: &str = "a-test-origin-secret-of-at-least-32-characters";

#[derive(Default)]
struct Emulator {
    queue: Mutex<Option<mpsc::Receiver<(String, Value)>>>,
    waiting: Mutex<HashMap<String, oneshot::Sender<Value>>>,
    init_error: Mutex<Option<(HeaderMap, Value)>>,
}

async fn next(State(e): State<Arc<Emulator>>) -> impl IntoResponse {
    let mut queue = e.queue.lock().await;
    let Some(rx) = queue.as_mut() else {
        return (StatusCode::INTERNAL_SERVER_ERROR, HeaderMap::new(), String::new());
    };
    let Some((id, event)) = rx.recv().await else {
        return (StatusCode::INTERNAL_SERVER_ERROR, HeaderMap::new(), String::new());
    };
    let mut headers = HeaderMap::new();
    let deadline = (now() + 30) * 1000;
    for (k, v) in [
        ("lambda-runtime-aws-request-id", id.clone()),
        ("lambda-runtime-deadline-ms", deadline.to_string()),
        (
            "lambda-runtime-invoked-function-arn",
            "arn:aws:lambda:eu-west-1:123456789012:function:checkout".into(),
        ),
        (
            "lambda-runtime-trace-id",
            "Root=1-5759e988-bd862e3fe1be46a994272793".into(),
        ),
    ] {
        headers.insert(k, v.parse().expect("header"));
    }
    (StatusCode::OK, headers, event.to_string())
}

async fn response(State(e): State<Arc<Emulator>>, Path(id): Path<String>, body: Bytes) -> StatusCode {
    let value: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    if let Some(tx) = e.waiting.lock().await.remove(&id) {
        let _ = tx.send(value);
    }
    StatusCode::ACCEPTED
}

async fn invocation_error(State(e): State<Arc<Emulator>>, Path(id): Path<String>, body: Bytes) -> StatusCode {
    let value: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    if let Some(tx) = e.waiting.lock().await.remove(&id) {
        let _ = tx.send(json!({ "invocation_error": value }));
    }
    StatusCode::ACCEPTED
}

async fn init_error(State(e): State<Arc<Emulator>>, headers: HeaderMap, body: Bytes) -> StatusCode {
    *e.init_error.lock().await = Some((headers, serde_json::from_slice(&body).unwrap_or(Value::Null)));
    StatusCode::ACCEPTED
}

struct Runtime {
    api: String,
    emulator: Arc<Emulator>,
    tx: mpsc::Sender<(String, Value)>,
    counter: std::sync::atomic::AtomicU32,
}

async fn runtime() -> Runtime {
    let (tx, rx) = mpsc::channel(8);
    let emulator = Arc::new(Emulator {
        queue: Mutex::new(Some(rx)),
        ..Default::default()
    });
    let app = Router::new()
        .route("/2018-06-01/runtime/invocation/next", get(next))
        .route("/2018-06-01/runtime/invocation/{id}/response", post(response))
        .route("/2018-06-01/runtime/invocation/{id}/error", post(invocation_error))
        .route("/2018-06-01/runtime/init/error", post(init_error))
        .with_state(emulator.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let api = listener.local_addr().expect("addr").to_string();
    tokio::spawn(async move { axum::serve(listener, app).await });
    Runtime {
        api,
        emulator,
        tx,
        counter: Default::default(),
    }
}

impl Runtime {
    /// Sends one function URL event and waits for the function's answer.
    async fn invoke(&self, event: Value) -> Value {
        let n = self.counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let id = format!("req-{n}");
        let (done, answer) = oneshot::channel();
        self.emulator.waiting.lock().await.insert(id.clone(), done);
        self.tx.send((id, event)).await.expect("queue");
        tokio::time::timeout(std::time::Duration::from_secs(20), answer)
            .await
            .expect("the function answered in time")
            .expect("an answer")
    }
}

impl Runtime {
    /// `POST /api/webhook` through CloudFront with this signature and these exact bytes.
    async fn webhook(&self, signature: &str, body: &[u8]) -> Value {
        let headers = [("x-origin-verify", ORIGIN_SECRET), ("stripe-signature", signature)];
        self.invoke(url_event("POST", "/api/webhook", &headers, Some(body)))
            .await
    }

    /// `GET /api/orders/{session}` through CloudFront.
    async fn order(&self, session: &str) -> Value {
        let path = format!("/api/orders/{session}");
        self.invoke(url_event("GET", &path, &[("x-origin-verify", ORIGIN_SECRET)], None))
            .await
    }

    /// `POST /api/checkout` for one candle picked up; the answer.
    async fn checkout_candle(&self) -> Value {
        let basket =
            json!({ "items": [{ "sku": CANDLE, "quantity": 1 }], "fulfilment": { "la-cire-d-outremeuse": "pickup" } });
        let headers = [("x-origin-verify", ORIGIN_SECRET), ("content-type", "application/json")];
        self.invoke(url_event(
            "POST",
            "/api/checkout",
            &headers,
            Some(basket.to_string().as_bytes()),
        ))
        .await
    }
}

/// A function URL request (payload format 2.0) with a base64 body, as Lambda delivers one.
fn url_event(method: &str, path: &str, headers: &[(&str, &str)], body: Option<&[u8]>) -> Value {
    use base64_engine::encode;
    let (raw_path, query) = path.split_once('?').unwrap_or((path, ""));
    let headers: serde_json::Map<String, Value> = headers.iter().map(|(k, v)| (k.to_string(), json!(v))).collect();
    json!({
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": raw_path,
        "rawQueryString": query,
        "headers": headers,
        "requestContext": {
            "accountId": "anonymous",
            "apiId": "abcdefgh",
            "domainName": "abcdefgh.lambda-url.eu-west-1.on.aws",
            "domainPrefix": "abcdefgh",
            "http": { "method": method, "path": raw_path, "protocol": "HTTP/1.1", "sourceIp": "127.0.0.1", "userAgent": "test" },
            "requestId": "id",
            "routeKey": "$default",
            "stage": "$default",
            "time": "03/Dec/2026:12:00:00 +0000",
            "timeEpoch": now() * 1000
        },
        "body": body.map(encode),
        "isBase64Encoded": body.is_some()
    })
}

/// Standard base64, enough for test bodies (no extra dependency).
mod base64_engine {
    pub fn encode(bytes: &[u8]) -> String {
        const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        let mut out = String::new();
        for chunk in bytes.chunks(3) {
            let b = [chunk[0], *chunk.get(1).unwrap_or(&0), *chunk.get(2).unwrap_or(&0)];
            let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
            for i in 0..4 {
                if i <= chunk.len() {
                    out.push(char::from(T[((n >> (18 - 6 * i)) & 63) as usize]));
                } else {
                    out.push('=');
                }
            }
        }
        out
    }

    pub fn decode(text: &str) -> Vec<u8> {
        const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        let vals: Vec<u32> = text
            .bytes()
            .filter(|b| *b != b'=')
            .filter_map(|b| T.iter().position(|t| *t == b).map(|p| p as u32))
            .collect();
        let mut out = Vec::new();
        for chunk in vals.chunks(4) {
            let n = chunk.iter().enumerate().fold(0u32, |n, (i, v)| n | (v << (18 - 6 * i)));
            for i in 0..chunk.len().saturating_sub(1) {
                out.push((n >> (16 - 8 * i)) as u8);
            }
        }
        out
    }
}

/// The answer's body as JSON (Lambda's response may be base64).
fn body_of(answer: &Value) -> Value {
    let body = answer["body"].as_str().unwrap_or("");
    let bytes = if answer["isBase64Encoded"] == true {
        base64_engine::decode(body)
    } else {
        body.as_bytes().to_vec()
    };
    serde_json::from_slice(&bytes).unwrap_or(Value::Null)
}

fn function(api: &str, table: &str, without: Option<&str>) -> tokio::process::Child {
    function_with(api, table, without, &[])
}

fn function_with(api: &str, table: &str, without: Option<&str>, extra: &[(&str, String)]) -> tokio::process::Child {
    let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_checkout-fn"));
    let vars = [
        ("AWS_LAMBDA_RUNTIME_API", api.to_string()),
        ("AWS_LAMBDA_FUNCTION_NAME", "checkout".into()),
        ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST".into()),
        ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256".into()),
        ("AWS_LAMBDA_LOG_GROUP_NAME", "/aws/lambda/checkout".into()),
        ("AWS_LAMBDA_LOG_STREAM_NAME", "test".into()),
        (
            "AWS_ENDPOINT_URL_DYNAMODB",
            std::env::var("CHALET_TEST_DYNAMODB").expect("scripts/test starts DynamoDB Local"),
        ),
        ("TABLE_NAME", table.into()),
        ("STRIPE_SECRET_KEY", STRIPE_KEY.into()),
        ("STRIPE_WEBHOOK_SECRET", WEBHOOK_SECRET.into()),
        ("VOUCHER_CODES_KEY", CODES_KEY.into()),
        (
            "STRIPE_API_BASE",
            std::env::var("CHALET_TEST_STRIPE").expect("scripts/test starts the stand-in"),
        ),
        ("SITE_URL", SITE.into()),
        ("ORIGIN_VERIFY_SECRETS", ORIGIN_SECRET.into()),
    ];
    for (k, v) in vars {
        if Some(k) != without {
            cmd.env(k, v);
        }
    }
    for (k, v) in extra {
        cmd.env(k, v);
    }
    cmd.kill_on_drop(true)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped());
    cmd.spawn().expect("start checkout-fn")
}

/// Webhook deliveries seen: (`Stripe-Signature`, exact body bytes).
type Deliveries = Arc<Mutex<Vec<(String, Vec<u8>)>>>;

/// A server that records what the stand-in delivers (the webhook's exact bytes and signature).
async fn capture() -> (String, Deliveries) {
    let seen: Deliveries = Arc::default();
    let store = seen.clone();
    let app = Router::new().route(
        "/hook",
        post(move |headers: HeaderMap, body: Bytes| {
            let store = store.clone();
            async move {
                let sig = headers
                    .get("stripe-signature")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("")
                    .to_string();
                store.lock().await.push((sig, body.to_vec()));
                StatusCode::OK
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("http://{}/hook", listener.local_addr().expect("addr"));
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, seen)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn under_the_lambda_runtime_a_sale_goes_through_and_strangers_are_refused() {
    let h = Harness::start(&example_catalogue()).await;
    let rt = runtime().await;
    let _function = function(&rt.api, &h.db.table, None);
    let origin = ("x-origin-verify", ORIGIN_SECRET);

    // Through CloudFront (the secret header): answered.
    let ok = rt.invoke(url_event("GET", "/api/health", &[origin], None)).await;
    assert_eq!(ok["statusCode"], 200, "{ok}");
    assert_eq!(body_of(&ok)["status"], "ok");

    // Straight to the function URL, or with a wrong secret: 403 JSON.
    for headers in [
        vec![],
        vec![("x-origin-verify", "not-the-secret-but-long-enough-to-look-real")],
    ] {
        let refused = rt.invoke(url_event("GET", "/api/health", &headers, None)).await;
        assert_eq!(refused["statusCode"], 403, "{refused}");
        assert_eq!(body_of(&refused)["error"]["code"], "forbidden");
        let refused = rt
            .invoke(url_event("POST", "/api/checkout", &headers, Some(b"{}")))
            .await;
        assert_eq!(refused["statusCode"], 403);
    }

    // A checkout with a base64 body, as the browser's POST arrives.
    let created = rt.checkout_candle().await;
    assert_eq!(created["statusCode"], 200, "{created}");
    let session = body_of(&created)["id"].as_str().expect("a session").to_string();

    // Before the webhook: pending, never a 404 CloudFront would replace with HTML.
    let pending = rt.order(&session).await;
    assert_eq!(
        (pending["statusCode"].clone(), body_of(&pending)["status"].clone()),
        (json!(202), json!("pending"))
    );

    // Paid on the stand-in; its signed event captured byte for byte, then given to the function.
    let (hook, seen) = capture().await;
    h.stripe_control_to(&session, "pay", &hook).await;
    let (signature, bytes) = seen.lock().await.first().cloned().expect("a delivery");
    let mut tampered = bytes.clone();
    let last = tampered.iter().rposition(|b| b.is_ascii_digit()).expect("a digit");
    tampered[last] = if tampered[last] == b'1' { b'2' } else { b'1' };
    let bad = rt.webhook(&signature, &tampered).await;
    assert_eq!(bad["statusCode"], 400, "one changed byte breaks the signature");
    let good = rt.webhook(&signature, &bytes).await;
    assert_eq!(good["statusCode"], 200, "{good}");
    let paid = rt.order(&session).await;
    assert_eq!(paid["statusCode"], 200, "{paid}");
    assert_eq!(body_of(&paid)["chalets"][0]["lines"][0]["sku"], CANDLE);

    // The reconciler's schedule reaches the same function as a non-HTTP event and is answered
    // as one (nothing is overdue in a fresh table).
    let input: Value = serde_json::from_str(checkout_fn::lambda::RECONCILE_INPUT).expect("json");
    let ran = rt.invoke(input).await;
    assert_eq!(ran, json!({ "reconciled": 0, "failed": 0 }));
    // So does the morning's digest (no chalet of this catalogue asked for one).
    let input: Value = serde_json::from_str(checkout_fn::lambda::DIGEST_INPUT).expect("json");
    assert_eq!(rt.invoke(input).await, json!({ "digests": 0, "failed": 0 }));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_setting_is_reported_through_the_init_error_endpoint() {
    let rt = runtime().await;
    let mut child = function(&rt.api, "unused", Some("TABLE_NAME"));
    let status = tokio::time::timeout(std::time::Duration::from_secs(20), child.wait())
        .await
        .expect("it stops")
        .expect("status");
    assert!(!status.success());
    let (headers, body) = rt
        .emulator
        .init_error
        .lock()
        .await
        .clone()
        .expect("init/error was called");
    assert_eq!(headers["lambda-runtime-function-error-type"], "Runtime.ConfigError");
    let message = body["errorMessage"].as_str().expect("a message");
    assert!(message.contains("TABLE_NAME"), "{message}");
}

async fn ssm() -> aws_sdk_ssm::Client {
    let endpoint = std::env::var("CHALET_TEST_SSM").expect("scripts/test starts moto's SSM server");
    let config = aws_sdk_ssm::Config::builder()
        .behavior_version(aws_sdk_ssm::config::BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(aws_sdk_ssm::config::Region::new("eu-west-1"))
        .credentials_provider(aws_sdk_ssm::config::Credentials::new(
            "test", "test", None, None, "tests",
        ))
        .build();
    aws_sdk_ssm::Client::from_conf(config)
}

async fn put_secret(ssm: &aws_sdk_ssm::Client, name: &str, value: &str) {
    ssm.put_parameter()
        .name(name)
        .value(value)
        .r#type(aws_sdk_ssm::types::ParameterType::SecureString)
        .overwrite(true)
        .send()
        .await
        .expect("put parameter");
}

/// `Stripe-Signature` for `body` under `secret`, as Stripe computes it.
fn sign(body: &[u8], secret: &str) -> String {
    use hmac::{Hmac, Mac};
    let t = now();
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).expect("any key");
    mac.update(format!("{t}.").as_bytes());
    mac.update(body);
    let hex: String = mac.finalize().into_bytes().iter().map(|b| format!("{b:02x}")).collect();
    format!("t={t},v1={hex}")
}

/// Regression: the secrets were read through the Parameters and Secrets extension during INIT,
/// which the extension does not serve; and a webhook secret changed in the store was never
/// picked up by a warm function.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn secrets_come_from_the_parameter_store_and_a_changed_webhook_secret_is_picked_up() {
    let h = Harness::start(&example_catalogue()).await;
    let ssm = ssm().await;
    let prefix = format!("/chalet-test/{}", h.db.table);
    put_secret(&ssm, &format!("{prefix}/key"), STRIPE_KEY).await;
    put_secret(&ssm, &format!("{prefix}/webhook"), WEBHOOK_SECRET).await;
    put_secret(&ssm, &format!("{prefix}/codes"), CODES_KEY).await;
    let rt = runtime().await;
    let extra = [
        ("STRIPE_SECRET_KEY_PARAMETER", format!("{prefix}/key")),
        ("STRIPE_WEBHOOK_SECRET_PARAMETER", format!("{prefix}/webhook")),
        ("VOUCHER_CODES_KEY_PARAMETER", format!("{prefix}/codes")),
        ("AWS_ENDPOINT_URL_SSM", std::env::var("CHALET_TEST_SSM").expect("moto")),
        ("STRIPE_SECRET_KEY", String::new()),
        ("STRIPE_WEBHOOK_SECRET", String::new()),
        ("VOUCHER_CODES_KEY", String::new()),
    ];
    let _function = function_with(&rt.api, &h.db.table, None, &extra);
    // The secret key came from the store: Stripe (the stand-in, which checks it) takes the session.
    let created = rt.checkout_candle().await;
    assert_eq!(created["statusCode"], 200, "{created}");
    let session = body_of(&created)["id"].as_str().expect("a session").to_string();
    let (hook, seen) = capture().await;
    h.stripe_control_to(&session, "pay", &hook).await;
    let (_, bytes) = seen.lock().await.first().cloned().expect("a delivery");

    // The organiser rolls the secret in Stripe and in the store; nothing is redeployed.
    let rolled = "whsec_rolled_in_the_dashboard";
    put_secret(&ssm, &format!("{prefix}/webhook"), rolled).await;
    let forged = rt.webhook(&sign(&bytes, "whsec_never_configured"), &bytes).await;
    assert_eq!(
        forged["statusCode"], 400,
        "a wrong secret stays wrong after the re-read"
    );
    // The re-read happened for the forged request above; the next one within a minute is
    // checked against what was read then, which is already the rolled secret.
    let signed = sign(&bytes, rolled);
    let accepted = rt.webhook(&signed, &bytes).await;
    assert_eq!(accepted["statusCode"], 200, "{accepted}");
    let paid = rt.order(&session).await;
    assert_eq!(paid["statusCode"], 200, "{paid}");
}
